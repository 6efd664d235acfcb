// A boundary-only map for picking a point: the city's own district, community and grid outlines
// drawn as SVG from /api/v1/org-units, no tiles and no foreign base map (审图号). Boundaries are
// WGS-84 as stored; the picked point is handed out in WGS-84 and the page converts it to GCJ-02
// before sending, as it does a GPS fix. Drag to move, the buttons to zoom, a tap to pick.

import { html, useEffect, useRef, useState } from '../shared/html.js';
import { t } from '../shared/i18n.js';
import { call } from './session.js';

/** Boundaries already fetched, by unit id (a unit's boundary does not change while the page is open). */
const boundaries = new Map();
/** The boundaries that have arrived, for drawing synchronously. */
const resolved = new Map();
let unitsPromise = null;

/** Every district, community and grid with its bbox (no boundaries): three paged lists, once. */
function loadUnits() {
  if (!unitsPromise) {
    unitsPromise = (async () => {
      const out = [];
      for (const kind of ['district', 'community', 'grid']) {
        let after = null;
        for (let i = 0; i < 20; i++) {
          const page = await call('GET', '/org-units', { query: { kind, limit: 500, after } });
          out.push(...page.items.filter((u) => Array.isArray(u.bbox)));
          if (!page.next) break;
          after = page.next;
        }
      }
      return out;
    })();
    unitsPromise.catch(() => { unitsPromise = null; });
  }
  return unitsPromise;
}

async function loadBoundary(id) {
  if (!boundaries.has(id)) {
    const p = call('GET', `/org-units/${id}`).then((u) => {
      resolved.set(id, u.boundary ?? null);
      return u.boundary ?? null;
    });
    p.catch(() => boundaries.delete(id));
    boundaries.set(id, p);
  }
  return boundaries.get(id);
}

/** Degrees of longitude across the view below which communities, then grids, are drawn. */
const COMMUNITY_SPAN = 0.1;
const GRID_SPAN = 0.025;
/** Boundaries fetched per view change at most: a weak link should not carry a whole city at once. */
const FETCH_CAP = 40;

const ASPECT = 0.9; // height / width of the map box

/** A projection around an origin: x east, y south, in degrees of latitude (so distances look right). */
export function projection(lat0, lon0) {
  const k = Math.cos((lat0 * Math.PI) / 180);
  return {
    x: (lon) => (lon - lon0) * k,
    y: (lat) => -(lat - lat0),
    lon: (x) => x / k + lon0,
    lat: (y) => -y + lat0,
    k,
  };
}

/** The SVG path of a GeoJSON Polygon or MultiPolygon under a projection. */
export function pathOf(geometry, proj) {
  if (!geometry) return '';
  const polys = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.type === 'MultiPolygon' ? geometry.coordinates : [];
  let d = '';
  for (const poly of polys) {
    for (const ring of poly) {
      ring.forEach(([lon, lat], i) => {
        d += `${i ? 'L' : 'M'}${proj.x(lon).toFixed(6)} ${proj.y(lat).toFixed(6)}`;
      });
      d += 'Z';
    }
  }
  return d;
}

const intersects = (b, v) => b[0] <= v[2] && b[2] >= v[0] && b[1] <= v[3] && b[3] >= v[1];

/**
 * props: point (WGS-84 {lat, lon} or null), highlight (ids to fill: the point's grid), onPick(lat, lon) in WGS-84.
 */
export function BoundaryMap({ point, highlight = [], onPick }) {
  const [units, setUnits] = useState(null);
  const [error, setError] = useState(null);
  const [view, setView] = useState(null); // {lon, lat, span}: centre and width in degrees of longitude
  const [, setTick] = useState(0); // bumps when boundaries arrive
  const svgRef = useRef(null);
  const drag = useRef(null);

  useEffect(() => {
    let live = true;
    loadUnits().then((list) => {
      if (!live) return;
      setUnits(list);
      const districts = list.filter((u) => u.kind === 'district');
      const all = districts.length ? districts : list;
      if (!all.length) return;
      const b = all.reduce((a, u) => [Math.min(a[0], u.bbox[0]), Math.min(a[1], u.bbox[1]), Math.max(a[2], u.bbox[2]), Math.max(a[3], u.bbox[3])],
        [Infinity, Infinity, -Infinity, -Infinity]);
      const lat = (b[1] + b[3]) / 2;
      const k = Math.cos((lat * Math.PI) / 180);
      const span = Math.max(b[2] - b[0], ((b[3] - b[1]) / ASPECT) / k) * 1.05;
      // A point already chosen inside the city is where the citizen wants to look; one outside it is not.
      const near = point && point.lon >= b[0] && point.lon <= b[2] && point.lat >= b[1] && point.lat <= b[3];
      setView(near ? { lon: point.lon, lat: point.lat, span: Math.min(span, 0.02) } : { lon: (b[0] + b[2]) / 2, lat, span });
    }).catch((e) => live && setError(e));
    return () => { live = false; };
  }, []);

  const proj = view ? projection(view.lat, view.lon) : null;
  const box = view ? viewBox(view) : null;

  // What is worth drawing at this zoom: districts always, communities and grids once close enough.
  const visible = units && view ? units.filter((u) => {
    if (!intersects(u.bbox, box.geo)) return false;
    if (u.kind === 'district') return true;
    if (u.kind === 'community') return view.span <= COMMUNITY_SPAN;
    return view.span <= GRID_SPAN || highlight.includes(u.id);
  }) : [];

  useEffect(() => {
    if (!view) return;
    let live = true;
    // Not yet arrived, whether asked for now or by an earlier view (loadBoundary asks only once).
    const wanted = [...new Set([...highlight, ...visible.map((u) => u.id)])].filter((id) => !resolved.has(id)).slice(0, FETCH_CAP);
    Promise.all(wanted.map((id) => loadBoundary(id).catch(() => null))).then(() => { if (live && wanted.length) setTick((n) => n + 1); });
    return () => { live = false; };
  }, [view, units, highlight.join(',')]);

  if (error) return html`<div class="map-box map-message">${t('地图加载失败，可改用“使用我的位置”', 'The map could not load: use your position instead')}</div>`;
  if (!view) return html`<div class="map-box map-message">${t('地图加载中…', 'Loading the map…')}</div>`;

  const drawn = [];
  for (const kind of ['district', 'community', 'grid']) {
    for (const u of visible.filter((x) => x.kind === kind)) {
      const b = settled(u.id);
      if (b) drawn.push(html`<path key=${u.id} class=${`unit unit-${kind}${highlight.includes(u.id) ? ' unit-hit' : ''}`} d=${pathOf(b, proj)} />`);
    }
  }

  const toGeo = (ev) => {
    const svg = svgRef.current;
    const ctm = svg?.getScreenCTM();
    if (!ctm) return null;
    const p = new DOMPoint(ev.clientX, ev.clientY).matrixTransform(ctm.inverse());
    return { lat: proj.lat(p.y), lon: proj.lon(p.x) };
  };
  const onPointerDown = (ev) => {
    drag.current = { x: ev.clientX, y: ev.clientY, view, moved: false, id: ev.pointerId };
    svgRef.current?.setPointerCapture?.(ev.pointerId);
  };
  const onPointerMove = (ev) => {
    const d = drag.current;
    if (!d || d.id !== ev.pointerId) return;
    const dx = ev.clientX - d.x;
    const dy = ev.clientY - d.y;
    if (!d.moved && Math.hypot(dx, dy) < 8) return;
    d.moved = true;
    const width = svgRef.current?.getBoundingClientRect().width || 1;
    const perPx = d.view.span / width; // degrees of longitude per pixel
    const k = Math.cos((d.view.lat * Math.PI) / 180);
    setView({ ...d.view, lon: d.view.lon - dx * perPx, lat: d.view.lat + dy * perPx * k });
  };
  const onPointerUp = (ev) => {
    const d = drag.current;
    drag.current = null;
    if (!d || d.moved) return;
    const g = toGeo(ev);
    if (!g) return;
    onPick?.(g.lat, g.lon);
    // A tap on the whole city is rough (a pixel is tens of metres): close in on it to show its grid.
    if (view.span > COMMUNITY_SPAN) setView({ lon: g.lon, lat: g.lat, span: GRID_SPAN });
  };
  const zoom = (f) => setView((v) => ({ ...v, span: Math.min(Math.max(v.span * f, 0.002), 2) }));

  const r = view.span * 0.012 * proj.k;
  return html`
    <div class="map-box" data-testid="map">
      <svg ref=${svgRef} viewBox=${box.svg} data-lat0=${view.lat} data-lon0=${view.lon} preserveAspectRatio="xMidYMid meet" role="img"
        aria-label=${t('区划边界图，点击选择位置', 'Boundary map: tap to pick a place')}
        onPointerDown=${onPointerDown} onPointerMove=${onPointerMove} onPointerUp=${onPointerUp}
        onPointerCancel=${() => { drag.current = null; }}>
        <rect class="map-bg" x=${box.x} y=${box.y} width=${box.w} height=${box.h} />
        ${drawn}
        ${point ? html`<g class="pin"><circle cx=${proj.x(point.lon)} cy=${proj.y(point.lat)} r=${r * 1.8} class="pin-halo" />
          <circle cx=${proj.x(point.lon)} cy=${proj.y(point.lat)} r=${r} class="pin-dot" /></g>` : null}
      </svg>
      <div class="map-zoom">
        <button type="button" class="map-btn" aria-label=${t('放大', 'Zoom in')} onClick=${() => zoom(0.5)}>＋</button>
        <button type="button" class="map-btn" aria-label=${t('缩小', 'Zoom out')} onClick=${() => zoom(2)}>－</button>
        ${point ? html`<button type="button" class="map-btn" aria-label=${t('回到所选点', 'Back to the point')}
          onClick=${() => setView((v) => ({ ...v, lon: point.lon, lat: point.lat }))}>◎</button>` : null}
      </div>
      <p class="map-hint">${t('拖动地图移动，点击选定位置。仅显示行政区划边界。', 'Drag to move, tap to pick. Only boundaries are shown.')}</p>
    </div>`;
}

/** A boundary already fetched, or null. */
function settled(id) {
  return resolved.get(id) ?? null;
}

/** The view's box in SVG units (projected around its own centre) and in degrees. */
function viewBox(view) {
  const k = Math.cos((view.lat * Math.PI) / 180);
  const w = view.span * k;
  const h = w * ASPECT;
  const halfLat = h / 2;
  return {
    x: -w / 2, y: -h / 2, w, h,
    svg: `${-w / 2} ${-h / 2} ${w} ${h}`,
    geo: [view.lon - view.span / 2, view.lat - halfLat, view.lon + view.span / 2, view.lat + halfLat],
  };
}
