// A visit's verification flags, each with the evidence that raised it: the figures in words,
// the distance drawn as a small map (household, fix, the fix's accuracy and the allowed radius,
// to scale), and a reused photo side by side with the one it repeats.

import { html } from '../../shared/html.js';
import { half, label, t } from '../../shared/i18n.js';
import { fmtDateTime } from '../../shared/time.js';
import { UnitName } from '../ui.js';
import { Photo } from './photos.js';
import { EVIDENCE, words } from './labels.js';

// Local metres around a centre point: plenty at the scale of a neighbourhood.
function project(lat0, lon0) {
  const kx = 111320 * Math.cos((lat0 * Math.PI) / 180);
  const ky = 110540;
  return (lat, lon) => [(lon - lon0) * kx, -(lat - lat0) * ky];
}

function niceBar(metres) {
  const steps = [5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000];
  return steps.find((s) => s >= metres / 4) ?? steps[steps.length - 1];
}

/**
 * The household's registered point and the visit's fix to scale, with the fix's accuracy circle
 * and the allowed radius around the household (the server widens it by the accuracy).
 */
export function DistanceMap({ home, fix, accuracy = 0, allowed = null, distance = null, size = 260 }) {
  const xy = project((home.lat + fix.lat) / 2, (home.lon + fix.lon) / 2);
  const [hx, hy] = xy(home.lat, home.lon);
  const [fx, fy] = xy(fix.lat, fix.lon);
  const d = distance ?? Math.hypot(fx - hx, fy - hy);
  // Fit both points with their circles, with a margin.
  const r = Math.max(d / 2 + Math.max(accuracy, 10), (allowed ?? 0), 30) * 1.15;
  const cx = (hx + fx) / 2;
  const cy = (hy + fy) / 2;
  const k = size / (2 * r);
  const px = (x) => (x - cx) * k + size / 2;
  const py = (y) => (y - cy) * k + size / 2;
  const bar = niceBar(2 * r);
  const mid = [(px(hx) + px(fx)) / 2, (py(hy) + py(fy)) / 2];
  // Points a few pixels apart: the figure goes above the drawing, the names to either side.
  const close = Math.hypot(px(hx) - px(fx), py(hy) - py(fy)) < 48;
  return html`<svg class="wf-map" viewBox=${`0 0 ${size} ${size}`} width=${size} height=${size} role="img"
      aria-label=${t(`走访定位距登记住址 ${Math.round(d)} 米`, `The fix is ${Math.round(d)} m from the registered address`)}>
    <rect x="0" y="0" width=${size} height=${size} class="wf-map-bg" />
    ${allowed ? html`<circle cx=${px(hx)} cy=${py(hy)} r=${allowed * k} class="wf-map-allowed" />` : null}
    ${accuracy ? html`<circle cx=${px(fx)} cy=${py(fy)} r=${Math.max(accuracy * k, 2)} class="wf-map-accuracy" />` : null}
    <line x1=${px(hx)} y1=${py(hy)} x2=${px(fx)} y2=${py(fy)} class="wf-map-line" />
    <rect x=${px(hx) - 6} y=${py(hy) - 6} width="12" height="12" class="wf-map-home" />
    <circle cx=${px(fx)} cy=${py(fy)} r="6" class="wf-map-fix" />
    ${close ? html`<text x=${size / 2} y="16" class="wf-map-label" text-anchor="middle">${Math.round(d)} m</text>`
      : html`<text x=${mid[0]} y=${mid[1] - 6} class="wf-map-label" text-anchor="middle">${Math.round(d)} m</text>`}
    <text x=${px(hx) + 9} y=${py(hy) + (hy >= fy ? 14 : -6)} class="wf-map-legend">${t('登记住址', 'address')}</text>
    <text x=${px(fx) + 9} y=${py(fy) + (hy >= fy ? -6 : 14)} class="wf-map-legend">${t('走访定位', 'fix')}</text>
    <line x1="10" y1=${size - 12} x2=${10 + bar * k} y2=${size - 12} class="wf-map-bar" />
    <text x="10" y=${size - 16} class="wf-map-legend">${bar >= 1000 ? `${bar / 1000} km` : `${bar} m`}</text>
  </svg>`;
}

function evidenceValue(key, value) {
  if (value === null || value === undefined) return '—';
  if (key.endsWith('_grid_id') && typeof value === 'string') return html`<${UnitName} id=${value} />`;
  if (/_at$|_time$/.test(key) && typeof value === 'string') return fmtDateTime(value, { seconds: true });
  if (typeof value === 'number') return value.toLocaleString('zh-CN', { maximumFractionDigits: 1 });
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function Figures({ evidence, skip = [] }) {
  const rows = Object.entries(evidence ?? {}).filter(([k]) => !skip.includes(k));
  if (!rows.length) return null;
  return html`<dl class="wf-figures">
    ${rows.map(([k, v]) => html`<div><dt>${words(EVIDENCE, k)}</dt><dd>${evidenceValue(k, v)}</dd></div>`)}
  </dl>`;
}

function PhotoSideBySide({ photo, others, onOpen, caption }) {
  return html`<div class="wf-side-by-side">
    <figure><${Photo} id=${photo} onClick=${() => onOpen(photo)} alt=${t('本次走访照片', 'This visit’s photo')} />
      <figcaption>${t('本次走访', 'This visit')}</figcaption></figure>
    ${others.map((o) => html`<figure><${Photo} id=${o.id} onClick=${() => onOpen(o.id)} alt=${caption} />
      <figcaption>${caption}${o.distance !== undefined ? ` · ${t('差异', 'distance')} ${o.distance}` : ''}</figcaption></figure>`)}
  </div>`;
}

/** One flag: its name, the server's message with the figures, and the evidence drawn. */
export function FlagCard({ flag, visit, household, onOpenPhoto }) {
  const ev = flag.evidence ?? {};
  let drawing = null;
  const home = household?.location;
  if (['far_from_household', 'outside_grid', 'poor_accuracy'].includes(flag.code) && home) {
    drawing = html`<${DistanceMap} home=${home} fix=${{ lat: visit.lat, lon: visit.lon }}
      accuracy=${ev.accuracy_m ?? visit.location?.accuracy_m ?? 0}
      allowed=${flag.code === 'far_from_household' ? ev.allowed_m : null}
      distance=${flag.code === 'far_from_household' ? ev.distance_m : null} />`;
  }
  if (flag.code === 'duplicate_photo' && ev.photo_id) {
    drawing = html`<${PhotoSideBySide} photo=${ev.photo_id} onOpen=${onOpenPhoto}
      caption=${t('另一户走访中的同一照片', 'The same photo, another visit')}
      others=${(ev.other_photo_ids ?? []).map((id) => ({ id }))} />`;
  } else if (flag.code === 'similar_photo' && ev.photo_id) {
    drawing = html`<${PhotoSideBySide} photo=${ev.photo_id} onOpen=${onOpenPhoto}
      caption=${t('高度相似的照片', 'A near-identical photo')}
      others=${(ev.similar ?? []).map((s) => ({ id: s.photo_id, distance: s.distance }))} />`;
  } else if (['photo_far', 'photo_time_mismatch', 'photo_before_task'].includes(flag.code) && ev.photo_id) {
    drawing = html`<div class="wf-side-by-side">
      <figure><${Photo} id=${ev.photo_id} onClick=${() => onOpenPhoto(ev.photo_id)} /><figcaption>${t('所涉照片', 'The photo')}</figcaption></figure></div>`;
  }
  return html`<article class="wf-flag" data-flag=${flag.code}>
    <header><span class="wf-flag-name">⚑ ${label('flag', flag.code)}</span></header>
    <p class="wf-flag-message">${half(flag.message)}</p>
    <${Figures} evidence=${ev} skip=${['photo_id', 'other_photo_ids', 'similar']} />
    ${drawing}
  </article>`;
}
