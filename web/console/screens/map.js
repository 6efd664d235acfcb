// Map of the caller's area with MapLibre over a plain background (no tiles, no glyphs, nothing from
// another origin): grid boundaries coloured by visit coverage, households as points coloured by their
// assistance status, visit fixes with their flags. A click opens a card for what is under it and says
// where the point is (GET /geo/locate).

import { html, useState, useEffect, useRef } from '../../shared/html.js';
import { get, request, qs } from '../../shared/api.js';
import { t, label, errorText } from '../../shared/i18n.js';
import { fmtDateTime, fmtPercent, fmtNumber, addDays, todayShanghai } from '../../shared/time.js';
import { Card, PageHead, Select, Loading, ErrorLine, EnumBadge, Badge, Button } from '../ui.js';

const CSS = new URL('../../vendor/maplibre-gl.css', import.meta.url).href;
let maplibre = null;

/** MapLibre and its stylesheet, loaded on this screen only. */
function loadMapLibre() {
  if (!document.querySelector(`link[href="${CSS}"]`)) {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = CSS;
    document.head.append(link);
  }
  if (!maplibre) {
    maplibre = import('../../vendor/maplibre-gl.mjs');
    maplibre.catch(() => { maplibre = null; });
  }
  return maplibre;
}

const STATUS_COLORS = {
  dibao: '#1d5fbf', tekun: '#6b4fbb', edge: '#e08a00', rigid_expense: '#c2185b', relapse_monitoring: '#0e7c86', none: '#9aa3ad',
};
// Coverage buckets: < 20 %, < 40 %, < 60 %, < 80 %, ≥ 80 % (the .swatch-N colours in style.css).
const COVERAGE_STEPS = [0.2, 0.4, 0.6, 0.8];
const COVERAGE_COLORS = ['#d73027', '#fc8d59', '#fee08b', '#91cf60', '#1a9850'];
const WINDOWS = [30, 90, 365];

async function geojson(path, params) {
  const res = await request('GET', `${path}${qs(params)}`);
  return res.json();
}

/** Every grid in scope with its boundary. */
async function loadGrids() {
  const grids = [];
  let after = null;
  for (let i = 0; i < 100; i++) {
    const page = await get('/org-units', { kind: 'grid', limit: 500, after, boundary: true });
    grids.push(...page.items);
    if (!page.next) break;
    after = page.next;
  }
  // The list brings the boundaries; a unit without one in the answer is fetched on its own.
  const missing = grids.filter((g) => !g.boundary);
  let next = 0;
  const worker = async () => {
    while (next < missing.length) {
      const g = missing[next++];
      const full = await get(`/org-units/${g.id}`);
      g.boundary = full.boundary;
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  return grids.filter((g) => g.boundary);
}

function coverageBucket(r) {
  let i = 0;
  while (i < COVERAGE_STEPS.length && r >= COVERAGE_STEPS[i]) i++;
  return i;
}

function splitFlags(v) {
  if (Array.isArray(v)) return v;
  if (!v) return [];
  return String(v).split(/[;,| ]+/).filter(Boolean);
}

export default function MapScreen({ params, me }) {
  const box = useRef(null);
  const mapRef = useRef(null);
  const styleReady = useRef(false);
  const [status, setStatus] = useState('loading'); // loading | ready | error
  const [error, setError] = useState(null);
  const [days, setDays] = useState(WINDOWS.includes(Number(params?.query?.days)) ? Number(params.query.days) : 90);
  const [layers, setLayers] = useState({ grids: true, households: true, visits: true });
  const [data, setData] = useState(null); // {grids, households, visits}
  const [counts, setCounts] = useState(null);
  const [picked, setPicked] = useState(null); // {features, lngLat, locate, locateError}

  // The map itself, once.
  useEffect(() => {
    let live = true;
    let map = null;
    let resizer = null;
    (async () => {
      try {
        const [{ Map, NavigationControl, ScaleControl }, unit] = await Promise.all([loadMapLibre(), get(`/org-units/${me.org_unit_id}`)]);
        if (!live) return;
        const bbox = unit.bbox ?? [119.9, 31.7, 120.1, 31.85];
        map = new Map({
          container: box.current,
          style: { version: 8, sources: {}, layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#eef0f3' } }] },
          bounds: [[bbox[0], bbox[1]], [bbox[2], bbox[3]]],
          fitBoundsOptions: { padding: 20 },
          attributionControl: false,
          dragRotate: false,
          pitchWithRotate: false,
          maxZoom: 19,
        });
        map.addControl(new NavigationControl({ showCompass: false }), 'top-right');
        map.addControl(new ScaleControl({ unit: 'metric' }), 'bottom-left');
        map.touchZoomRotate.disableRotation();
        mapRef.current = map;
        resizer = new ResizeObserver(() => map.resize());
        resizer.observe(box.current);
        map.on('error', (e) => live && setError(e.error ?? e));
        map.once('load', () => {
          styleReady.current = true;
          if (live) setStatus((s) => (s === 'loading' ? 'map' : s));
        });
        map.on('click', (e) => onClick(map, e));
      } catch (e) {
        if (live) { setError(e); setStatus('error'); }
      }
    })();
    return () => {
      live = false;
      resizer?.disconnect();
      map?.remove();
      mapRef.current = null;
    };
  }, []);

  // The data: grids first (they frame the area and draw at once), then households and visits.
  useEffect(() => {
    let live = true;
    const fail = (e) => { if (live) { setError(e); setStatus('error'); } };
    const from = addDays(todayShanghai(), -days);
    const grids = data?.grids ? Promise.resolve(data.grids) : loadGrids();
    grids.then((g) => live && setData((d) => ({ ...d, grids: g })), fail);
    const households = data?.households ? Promise.resolve(data.households) : geojson('/exports/households', { format: 'geojson' });
    const visits = geojson('/exports/visits', { format: 'geojson', from });
    Promise.all([households, visits]).then(([h, v]) => live && setData((d) => ({ ...d, households: h, visits: v })), fail);
    return () => { live = false; };
  }, [days]);

  // Put the data on the map as it arrives; the map counts as drawn once everything is on it.
  const details = useRef(new Map());
  const hooked = useRef(false);
  useEffect(() => {
    const map = mapRef.current;
    if (!map || !data?.grids || status === 'error') return;
    const draw = () => {
      const { gridFc, householdFc, visitFc, summary, props } = buildLayers(data);
      details.current = props;
      setSource(map, 'grids', gridFc);
      setSource(map, 'households', householdFc);
      setSource(map, 'visits', visitFc);
      ensureLayers(map);
      applyVisibility(map, layers);
      if (!data.households) return;
      setCounts(summary);
      map.once('idle', () => {
        describeRendered(map, box.current);
        if (box.current) box.current.dataset.drawn = 'true';
        setStatus('ready');
        if (hooked.current) return;
        hooked.current = true;
        map.on('idle', () => describeRendered(map, box.current));
        map.on('movestart', () => { if (box.current) box.current.dataset.idle = 'false'; });
      });
    };
    // map.loaded() is false again whenever a render is pending (a resize, say), and 'load' fires once:
    // the style's own first load is what sources and layers wait for.
    if (styleReady.current) draw();
  }, [data, status === 'map' || status === 'ready']);

  useEffect(() => { if (mapRef.current?.getLayer('grid-fill')) applyVisibility(mapRef.current, layers); }, [layers]);

  const onClick = async (map, e) => {
    const ids = ['visit-points', 'household-points', 'grid-fill'].filter((id) => map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none');
    const pad = 4;
    const features = ids.length ? map.queryRenderedFeatures([[e.point.x - pad, e.point.y - pad], [e.point.x + pad, e.point.y + pad]], { layers: ids }) : [];
    const { lng, lat } = e.lngLat;
    const picked = dedupe(features).map((f) => ({ kind: f.properties.kind, p: f.properties.kind === 'grid' ? f.properties : details.current.get(`${f.properties.kind}:${f.properties.id}`) ?? f.properties }));
    setPicked({ features: picked, lngLat: { lng, lat }, locate: null, locateError: null });
    try {
      const where = await get('/geo/locate', { lat: lat.toFixed(6), lon: lng.toFixed(6) });
      setPicked((p) => (p && p.lngLat.lat === lat ? { ...p, locate: where } : p));
    } catch (err) {
      setPicked((p) => (p && p.lngLat.lat === lat ? { ...p, locateError: err } : p));
    }
  };

  return html`<div>
    <${PageHead} title=${t('地图', 'Map')}>
      <${Select} aria-label=${t('走访统计窗口', 'Visit window')} value=${days} onChange=${(d) => setDays(Number(d))}
        options=${WINDOWS.map((d) => [d, t(`近 ${d} 天走访`, `visits, last ${d} days`)])} />
    <//>
    <div class="map-layout">
      <div class="map-box">
        <div class="map-canvas" ref=${box} data-testid="map"></div>
        ${status !== 'ready' && status !== 'error' && html`<div class="map-overlay"><${Loading} text=${t('正在绘制地图…', 'Drawing the map…')} /></div>`}
      </div>
      <div class="map-side">
        ${error && html`<${ErrorLine} error=${error} />`}
        <${PickedCard} picked=${picked} />
        <${Card} title=${t('图层', 'Layers')}>
          <div class="legend">
            <label><input type="checkbox" checked=${layers.grids} onChange=${(e) => setLayers({ ...layers, grids: e.currentTarget.checked })} />${t('网格（按走访覆盖率着色）', 'Grids (by visit coverage)')}</label>
            ${COVERAGE_COLORS.map((c, i) => html`<span><i class=${`swatch-${i}`}></i>${coverageText(i)}</span>`)}
            <label><input type="checkbox" checked=${layers.households} onChange=${(e) => setLayers({ ...layers, households: e.currentTarget.checked })} />${t('住户（按救助状态着色）', 'Households (by status)')}</label>
            ${Object.keys(STATUS_COLORS).map((s) => html`<span><i class=${`dot status-${s}`}></i>${label('household_status', s)}${counts ? ` · ${fmtNumber(counts.byStatus[s] ?? 0)}` : ''}</span>`)}
            <label><input type="checkbox" checked=${layers.visits} onChange=${(e) => setLayers({ ...layers, visits: e.currentTarget.checked })} />${t('走访定位点', 'Visit fixes')}</label>
            <span><i class="dot visit-ok"></i>${t('无异常', 'No flag')}${counts ? ` · ${fmtNumber(counts.visits - counts.flagged)}` : ''}</span>
            <span><i class="dot visit-flagged"></i>${t('有核验提示', 'Flagged')}${counts ? ` · ${fmtNumber(counts.flagged)}` : ''}</span>
          </div>
          ${counts && html`<p class="hint">${t(`${fmtNumber(counts.grids)} 个网格，${fmtNumber(counts.households)} 户，整体覆盖 ${fmtPercent(counts.coverage)}`,
            `${fmtNumber(counts.grids)} grids, ${fmtNumber(counts.households)} households, ${fmtPercent(counts.coverage)} visited`)}</p>`}
        <//>
      </div>
    </div>
  </div>`;
}

/**
 * What MapLibre has drawn, on the map's element: counts per layer and the screen point of one household
 * (tests and the load benchmark read these; nothing else does).
 */
function describeRendered(map, el) {
  if (!el) return;
  const count = (id) => (map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none' ? map.queryRenderedFeatures({ layers: [id] }) : []);
  const grids = new Set(count('grid-fill').map((f) => f.properties.id));
  const households = count('household-points');
  const visits = count('visit-points');
  el.dataset.idle = 'true';
  el.dataset.rendered = JSON.stringify({ grids: grids.size, households: households.length, visits: visits.length });
  const h = households.find((f) => f.geometry?.type === 'Point');
  if (h) {
    const p = map.project(h.geometry.coordinates);
    el.dataset.sample = JSON.stringify({ x: Math.round(p.x), y: Math.round(p.y) });
  } else {
    delete el.dataset.sample;
  }
  // A flagged visit if one is drawn, else any visit.
  const v = visits.find((f) => f.properties.flagged === 1) ?? visits[0];
  if (v) {
    const p = map.project(v.geometry.coordinates);
    el.dataset.visitSample = JSON.stringify({ x: Math.round(p.x), y: Math.round(p.y) });
  } else {
    delete el.dataset.visitSample;
  }
}

function coverageText(i) {
  const lo = i === 0 ? 0 : COVERAGE_STEPS[i - 1] * 100;
  const hi = i < COVERAGE_STEPS.length ? COVERAGE_STEPS[i] * 100 : 100;
  return i < COVERAGE_STEPS.length ? `${lo}–${hi}%` : `≥ ${lo}%`;
}

function dedupe(features) {
  const seen = new Set();
  const out = [];
  for (const f of features) {
    const key = `${f.layer.id}:${f.properties.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(f);
  }
  return out.slice(0, 8);
}

/**
 * GeoJSON for the map's sources. The map gets only the properties it styles by (and an id); the rest of
 * each feature stays here for the cards, so that MapLibre's worker has 20,000 small features to cut.
 */
function buildLayers({ grids, households, visits }) {
  const perGrid = new Map(); // grid_code -> {households, visited}
  const visited = new Set();
  const props = new Map(); // "household:<id>" | "visit:<id>" -> the export's properties
  let flagged = 0;
  const visitFeatures = [];
  for (const f of visits?.features ?? []) {
    const p = f.properties ?? {};
    const isFlagged = splitFlags(p.flags).length > 0 || Number(p.flag_count) > 0;
    if (isFlagged) flagged++;
    if (p.review_state !== 'rejected' && p.review_state !== 'superseded') visited.add(p.household_id);
    if (!f.geometry) continue;
    props.set(`visit:${p.visit_id}`, p);
    visitFeatures.push({ type: 'Feature', geometry: f.geometry, properties: { kind: 'visit', id: p.visit_id, flagged: isFlagged ? 1 : 0 } });
  }
  const byStatus = {};
  const householdFeatures = [];
  for (const f of households?.features ?? []) {
    const p = f.properties ?? {};
    byStatus[p.status] = (byStatus[p.status] ?? 0) + 1;
    const g = perGrid.get(p.grid_code) ?? { households: 0, visited: 0 };
    g.households++;
    if (visited.has(p.household_id)) g.visited++;
    perGrid.set(p.grid_code, g);
    if (!f.geometry) continue;
    props.set(`household:${p.household_id}`, p);
    householdFeatures.push({ type: 'Feature', geometry: f.geometry, properties: { kind: 'household', id: p.household_id, status: p.status } });
  }
  let total = 0;
  let totalVisited = 0;
  const gridFeatures = grids.map((g) => {
    const c = perGrid.get(g.code) ?? { households: 0, visited: 0 };
    total += c.households;
    totalVisited += c.visited;
    const coverage = c.households ? c.visited / c.households : 0;
    return {
      type: 'Feature',
      geometry: g.boundary,
      properties: { id: g.id, kind: 'grid', name: g.name, code: g.code, households: c.households, visited: c.visited, coverage, bucket: coverageBucket(coverage) },
    };
  });
  return {
    gridFc: { type: 'FeatureCollection', features: gridFeatures },
    householdFc: { type: 'FeatureCollection', features: householdFeatures },
    visitFc: { type: 'FeatureCollection', features: visitFeatures },
    props,
    summary: { grids: grids.length, households: householdFeatures.length, visits: visitFeatures.length, flagged, byStatus, coverage: total ? totalVisited / total : 0 },
  };
}

function setSource(map, id, data) {
  const src = map.getSource(id);
  if (src) src.setData(data);
  else map.addSource(id, { type: 'geojson', data });
}

function ensureLayers(map) {
  if (map.getLayer('grid-fill')) return;
  map.addLayer({
    id: 'grid-fill', type: 'fill', source: 'grids',
    paint: { 'fill-color': ['match', ['get', 'bucket'], 0, COVERAGE_COLORS[0], 1, COVERAGE_COLORS[1], 2, COVERAGE_COLORS[2], 3, COVERAGE_COLORS[3], COVERAGE_COLORS[4]], 'fill-opacity': 0.35 },
  });
  map.addLayer({ id: 'grid-line', type: 'line', source: 'grids', paint: { 'line-color': '#5d6b7a', 'line-width': ['interpolate', ['linear'], ['zoom'], 10, 0.4, 15, 1.5] } });
  const statusMatch = ['match', ['get', 'status']];
  for (const [k, c] of Object.entries(STATUS_COLORS)) statusMatch.push(k, c);
  statusMatch.push('#9aa3ad');
  map.addLayer({
    id: 'household-points', type: 'circle', source: 'households',
    paint: {
      'circle-color': statusMatch,
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 1.2, 14, 3, 17, 6],
      'circle-opacity': ['match', ['get', 'status'], 'none', 0.45, 0.9],
    },
  });
  map.addLayer({
    id: 'visit-points', type: 'circle', source: 'visits',
    paint: {
      'circle-color': ['case', ['==', ['get', 'flagged'], 1], '#b3261e', '#1f7a3a'],
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 2, 14, 4, 17, 7],
      'circle-stroke-color': '#fff',
      'circle-stroke-width': ['interpolate', ['linear'], ['zoom'], 10, 0.3, 15, 1.2],
    },
  });
  pointerOver(map);
}

/** A pointer over what a click would open. */
function pointerOver(map) {
  for (const id of ['household-points', 'visit-points']) {
    map.on('mouseenter', id, () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', id, () => { map.getCanvas().style.cursor = ''; });
  }
}

function applyVisibility(map, layers) {
  const set = (id, on) => map.getLayer(id) && map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
  set('grid-fill', layers.grids);
  set('grid-line', layers.grids);
  set('household-points', layers.households);
  set('visit-points', layers.visits);
}

function PickedCard({ picked }) {
  if (!picked) {
    return html`<${Card} title=${t('点选', 'Pick')}><p class="muted">${t('点击地图上的网格、住户或走访点查看详情，并显示该处所属区划。', 'Click a grid, household or visit for its card and where the point lies.')}</p><//>`;
  }
  const { features, lngLat, locate, locateError } = picked;
  return html`<div data-testid="map-card">
    <${Card} title=${t('此处位置', 'Where this is')}>
      <p class="mono muted">${lngLat.lat.toFixed(5)}, ${lngLat.lng.toFixed(5)}</p>
      ${locateError ? html`<${ErrorLine} error=${locateError} />` : !locate ? html`<${Loading} />` : html`<${LocateChain} r=${locate} />`}
    <//>
    ${features.map((f) => html`<${FeatureCard} f=${f} />`)}
  </div>`;
}

function LocateChain({ r }) {
  const levels = [['city', t('市', 'City')], ['district', t('区', 'District')], ['street', t('街道', 'Street')], ['community', t('社区', 'Community')], ['grid', t('网格', 'Grid')]];
  const known = levels.filter(([k]) => r[k]);
  const outside = r.inside_city === false && !r.grid && known.length === 0;
  if (outside) return html`<p data-testid="locate-answer" class="notice notice-warn">${t('此处不在本市范围内。', 'This point is outside the city.')}</p>`;
  return html`<div data-testid="locate-answer">
    ${known.length ? html`<dl class="facts">${known.map(([k, name]) => html`<div><dt>${name}</dt><dd>${r[k].name} <span class="mono muted">${r[k].code}</span></dd></div>`)}</dl>`
      : html`<p>${t('此处不在任何网格内。', 'This point is in no grid.')}</p>`}
    ${r.grid === null && known.length > 0 && html`<p class="hint">${t('此处不在任何网格内。', 'This point is in no grid.')}</p>`}
  </div>`;
}

function FeatureCard({ f }) {
  const { kind, p } = f;
  if (kind === 'grid') {
    return html`<${Card} title=${html`${t('网格', 'Grid')} · ${p.name}`}>
      <dl class="facts">
        <div><dt>${t('代码', 'Code')}</dt><dd class="mono">${p.code}</dd></div>
        <div><dt>${t('户数', 'Households')}</dt><dd>${fmtNumber(p.households)}</dd></div>
        <div><dt>${t('已走访', 'Visited')}</dt><dd>${fmtNumber(p.visited)}（${fmtPercent(p.coverage)}）</dd></div>
      </dl>
      <p><a href=${`#/households?grid=${p.id}`}>${t('查看本网格住户', 'Households of this grid')}</a> · <a href=${`#/overview?unit=${p.id}`}>${t('本网格概览', 'Overview of this grid')}</a></p>
    <//>`;
  }
  if (kind === 'household') {
    return html`<${Card} title=${html`${t('住户', 'Household')} · ${p.head_name || p.address}`}>
      <dl class="facts">
        <div><dt>${t('地址', 'Address')}</dt><dd>${p.address}</dd></div>
        <div><dt>${t('状态', 'Status')}</dt><dd><${EnumBadge} kind="household_status" value=${p.status} /></dd></div>
        <div><dt>${t('人数', 'Members')}</dt><dd>${p.member_count ?? '—'}</dd></div>
        <div><dt>${t('网格', 'Grid')}</dt><dd>${p.grid_name ?? p.grid_code}</dd></div>
      </dl>
      <p><a href=${`#/households/${p.household_id}`}>${t('打开档案', 'Open the household')}</a></p>
    <//>`;
  }
  const flags = splitFlags(p.flags);
  return html`<${Card} title=${html`${t('走访', 'Visit')} · ${fmtDateTime(p.started_at) || ''}`}>
    <dl class="facts">
      <div><dt>${t('住户', 'Household')}</dt><dd>${p.household_address ?? ''} ${p.head_name ?? ''}</dd></div>
      <div><dt>${t('网格员', 'Worker')}</dt><dd>${p.worker_username ?? '—'}</dd></div>
      <div><dt>${t('精度', 'Accuracy')}</dt><dd>${p.accuracy_m !== undefined && p.accuracy_m !== null ? `${fmtNumber(p.accuracy_m)} m` : '—'}</dd></div>
      <div><dt>${t('审核', 'Review')}</dt><dd><${EnumBadge} kind="review_state" value=${p.review_state} /></dd></div>
    </dl>
    <p>${flags.length ? flags.map((c) => html`<${EnumBadge} kind="flag" value=${c} /> `) : html`<${Badge} tone="ok">${t('无核验提示', 'No flag')}<//>`}</p>
    <p><a href=${`#/visits/${p.visit_id}`}>${t('打开走访审核', 'Open the visit')}</a></p>
  <//>`;
}
