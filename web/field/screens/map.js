// The worker's grid on a boundary-only map: the grid's own WGS-84 outline from GET /org-units/{id}
// (kept by sync), the task households as numbered dots, and the phone's last fix. Drawn as SVG with
// an equirectangular projection scaled by cos(latitude): at a grid's size the error is nil, and no
// map library, tile or outside request is needed.

import { html, useEffect, useState } from '../../shared/html.js';
import { t } from '../../shared/i18n.js';
import { getMeta, tasks as allTasks, households } from '../store.js';
import { dataTick, go } from '../state.js';
import { lastFix } from '../geo.js';
import { sortTasks, headName } from './tasks.js';

const W = 360;
const H = 360;
const PAD = 24;

function rings(geometry) {
  if (!geometry) return [];
  if (geometry.type === 'Polygon') return geometry.coordinates;
  if (geometry.type === 'MultiPolygon') return geometry.coordinates.flat();
  return [];
}

export function projection(points) {
  const lons = points.map((p) => p[0]);
  const lats = points.map((p) => p[1]);
  const minLon = Math.min(...lons); const maxLon = Math.max(...lons);
  const minLat = Math.min(...lats); const maxLat = Math.max(...lats);
  const k = Math.cos(((minLat + maxLat) / 2) * Math.PI / 180);
  const spanX = Math.max((maxLon - minLon) * k, 1e-6);
  const spanY = Math.max(maxLat - minLat, 1e-6);
  const s = Math.min((W - 2 * PAD) / spanX, (H - 2 * PAD) / spanY);
  const ox = (W - spanX * s) / 2;
  const oy = (H - spanY * s) / 2;
  return ([lon, lat]) => [ox + (lon - minLon) * k * s, H - oy - (lat - minLat) * s];
}

export function MapScreen() {
  const [data, setData] = useState(null);
  useEffect(() => {
    (async () => {
      const [grid, ts, hs] = await Promise.all([getMeta('grid'), allTasks(), households()]);
      setData({ grid, ts, houses: new Map(hs.map((h) => [h.id, h])) });
    })();
  }, [dataTick.value]);
  if (!data) return null;
  const outline = rings(data.grid?.boundary);
  const ordered = sortTasks(data.ts, data.houses, lastFix.value).filter((x) => data.houses.get(x.household_id)?.location);
  const points = [...outline.flat()];
  for (const x of ordered) {
    const l = data.houses.get(x.household_id).location;
    points.push([l.lon, l.lat]);
  }
  const fix = lastFix.value;
  if (fix) points.push([fix.lon, fix.lat]);
  if (!points.length) return html`<p class="empty">${t('网格边界尚未同步：联网后同步一次。', 'The grid is not synced yet: sync once online.')}</p>`;
  const P = projection(points);
  const path = outline.map((ring) => `M${ring.map((p) => P(p).map((v) => v.toFixed(1)).join(',')).join('L')}Z`).join('');
  return html`<section class="map">
    <h2>${data.grid?.name ?? t('我的网格', 'My grid')}</h2>
    <svg viewBox=${`0 0 ${W} ${H}`} class="grid-map" role="img" aria-label=${t('网格地图', 'Grid map')} data-testid="grid-map">
      <path d=${path} class="boundary" fill-rule="evenodd" />
      ${ordered.map((x, i) => {
        const l = data.houses.get(x.household_id).location;
        const [cx, cy] = P([l.lon, l.lat]);
        return html`<g class=${`dot ${x.overdue ? 'late' : ''}`} onClick=${() => go(`task/${x.id}`)} data-testid="map-household">
          <circle cx=${cx} cy=${cy} r="11" /><text x=${cx} y=${cy + 4} text-anchor="middle">${i + 1}</text></g>`;
      })}
      ${fix ? (() => { const [cx, cy] = P([fix.lon, fix.lat]); return html`<circle class="me" cx=${cx} cy=${cy} r="7" />`; })() : null}
    </svg>
    <ol class="legend">${ordered.map((x) => {
      const h = data.houses.get(x.household_id);
      return html`<li><a href=${`#/task/${x.id}`}>${[h.address, headName(h)].filter(Boolean).join(" · ")}</a></li>`;
    })}</ol>
    <p class="hint">${t('仅显示本网格边界与任务住户；蓝点为手机最近的定位。', 'Only the grid boundary and task households; the blue dot is the last fix.')}</p>
  </section>`;
}
