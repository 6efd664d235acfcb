// The console's shared pieces: buttons, badges, states (loading, empty, error), a modal, form fields
// with their errors, toasts, a table paged by the API's `after`/`next` cursor, and a picker of org units
// down the caller's subtree. Screens build from these so that every screen looks and behaves alike.

import { html, signal, useState, useEffect, useRef, useCallback, useMemo } from '../shared/html.js';
import { get, ApiError } from '../shared/api.js';
import { t, label, errorText, fieldErrors } from '../shared/i18n.js';

export { errorText, fieldErrors };

// ---- small pieces -------------------------------------------------------------------------------

/** kind: 'primary' | 'danger' | 'plain' (default) | 'link'. `busy` disables it and shows a spinner. */
export function Button({ kind = 'plain', busy = false, disabled = false, type = 'button', class: cls = '', children, ...rest }) {
  return html`<button type=${type} class=${`btn btn-${kind} ${busy ? 'is-busy' : ''} ${cls}`} disabled=${disabled || busy} aria-busy=${busy ? 'true' : undefined} ...${rest}>${children}</button>`;
}

/** tone: 'ok' | 'warn' | 'bad' | 'info' | 'muted'. */
export function Badge({ tone = 'muted', title, children }) {
  return html`<span class=${`badge badge-${tone}`} title=${title}>${children}</span>`;
}

const STATE_TONES = {
  task_state: { pending: 'warn', assigned: 'info', accepted: 'info', submitted: 'ok', reviewed: 'muted', cancelled: 'muted' },
  application_state: {
    submitted: 'info', accepted: 'info', investigating: 'info', first_review: 'info', public_notice: 'warn', democratic_review: 'warn',
    approved: 'ok', active: 'ok', refused: 'bad', returned: 'bad', gradual_exit: 'warn', closed: 'muted',
  },
  finding_state: { open: 'warn', converted: 'ok', dismissed: 'muted' },
  review_state: { pending: 'warn', approved: 'ok', has_issues: 'bad', rejected: 'bad', superseded: 'muted' },
  household_status: { dibao: 'info', tekun: 'info', edge: 'warn', rigid_expense: 'warn', relapse_monitoring: 'warn', none: 'muted' },
  job_state: { queued: 'muted', running: 'info', done: 'ok', failed: 'bad' },
  flag: {},
};

/** A badge for an enum value, coloured by what the value means. */
export function EnumBadge({ kind, value }) {
  const tone = kind === 'flag' ? 'bad' : STATE_TONES[kind]?.[value] ?? 'muted';
  return html`<${Badge} tone=${tone}>${label(kind, value)}<//>`;
}

export function Loading({ text }) {
  return html`<div class="state state-loading" role="status"><span class="spinner" aria-hidden="true"></span>${text ?? t('加载中…', 'Loading…')}</div>`;
}

export function Empty({ text, children }) {
  return html`<div class="state state-empty">${text ?? t('暂无数据', 'Nothing here')}${children}</div>`;
}

/** An error in words, with a retry button when `retry` is given. */
export function ErrorState({ error, retry }) {
  return html`<div class="state state-error" role="alert">
    <div>${errorText(error)}</div>
    ${retry && html`<${Button} onClick=${retry}>${t('重试', 'Retry')}<//>`}
  </div>`;
}

/** An inline error line for forms; renders nothing without an error. */
export function ErrorLine({ error }) {
  if (!error) return null;
  return html`<p class="error-line" role="alert">${typeof error === 'string' ? error : errorText(error)}</p>`;
}

export function Card({ title, actions, children, class: cls = '' }) {
  return html`<section class=${`card ${cls}`}>
    ${(title || actions) && html`<header class="card-head"><h2>${title}</h2><div class="card-actions">${actions}</div></header>`}
    <div class="card-body">${children}</div>
  </section>`;
}

/** A number with its caption (the overview's tiles). */
export function Stat({ label: caption, value, hint, tone }) {
  return html`<div class=${`stat ${tone ? `stat-${tone}` : ''}`}><div class="stat-value">${value}</div><div class="stat-label">${caption}</div>${hint && html`<div class="stat-hint">${hint}</div>`}</div>`;
}

/** A definition list of [label, value] pairs. */
export function Facts({ items }) {
  return html`<dl class="facts">${items.filter(Boolean).map(([k, v]) => html`<div><dt>${k}</dt><dd>${v ?? '—'}</dd></div>`)}</dl>`;
}

export function Tabs({ tabs, value, onChange }) {
  return html`<div class="tabs" role="tablist">${tabs.map(([key, text]) => html`
    <button type="button" role="tab" aria-selected=${key === value} class=${key === value ? 'tab is-active' : 'tab'} onClick=${() => onChange(key)}>${text}</button>`)}</div>`;
}

export function PageHead({ title, children }) {
  return html`<div class="page-head"><h1>${title}</h1><div class="page-actions">${children}</div></div>`;
}

// ---- form fields --------------------------------------------------------------------------------

let fieldSeq = 0;

/** A labelled field; `children` is the control. `error` is a string or an ApiError. */
export function Field({ label: caption, error, hint, required, children, id }) {
  const fid = useMemo(() => id ?? `f${++fieldSeq}`, [id]);
  const control = Array.isArray(children) ? children : [children];
  // The first child control gets the id so that the label points at it.
  const first = control[0];
  if (first && typeof first === 'object' && first.props && !first.props.id) first.props.id = fid;
  return html`<div class=${`field ${error ? 'has-error' : ''}`}>
    <label for=${fid}>${caption}${required && html`<span class="req" aria-hidden="true"> *</span>`}</label>
    ${control}
    ${hint && !error && html`<p class="hint">${hint}</p>`}
    ${error && html`<p class="error-line" role="alert">${typeof error === 'string' ? error : errorText(error)}</p>`}
  </div>`;
}

export function Input({ value, onInput, ...rest }) {
  return html`<input class="input" value=${value ?? ''} onInput=${(e) => onInput?.(e.currentTarget.value)} ...${rest} />`;
}

export function TextArea({ value, onInput, rows = 3, ...rest }) {
  return html`<textarea class="input" rows=${rows} value=${value ?? ''} onInput=${(e) => onInput?.(e.currentTarget.value)} ...${rest}></textarea>`;
}

/** options: [[value, text], ...]; `placeholder` adds an empty first option. */
export function Select({ value, onChange, options, placeholder, ...rest }) {
  return html`<select class="input" value=${value ?? ''} onChange=${(e) => onChange?.(e.currentTarget.value)} ...${rest}>
    ${placeholder !== undefined && html`<option value="">${placeholder}</option>`}
    ${options.map(([v, text]) => html`<option value=${v} selected=${String(v) === String(value ?? '')}>${text}</option>`)}
  </select>`;
}

/** A select of an enum's values with their words. */
export function EnumSelect({ kind, values: vals, value, onChange, placeholder, ...rest }) {
  return html`<${Select} value=${value} onChange=${onChange} placeholder=${placeholder} options=${vals.map((v) => [v, label(kind, v)])} ...${rest} />`;
}

// ---- modal --------------------------------------------------------------------------------------

/** A modal dialog; Escape and the backdrop close it. `footer` holds the buttons. */
export function Modal({ title, onClose, children, footer, wide = false }) {
  const box = useRef(null);
  useEffect(() => {
    const before = document.activeElement;
    const onKey = (e) => { if (e.key === 'Escape') onClose?.(); };
    document.addEventListener('keydown', onKey);
    const focusable = box.current?.querySelector('input, select, textarea, button:not(.modal-x)');
    focusable?.focus();
    return () => {
      document.removeEventListener('keydown', onKey);
      before?.focus?.();
    };
  }, []);
  return html`<div class="modal-backdrop" onClick=${(e) => { if (e.target === e.currentTarget) onClose?.(); }}>
    <div class=${`modal ${wide ? 'modal-wide' : ''}`} role="dialog" aria-modal="true" aria-label=${title} ref=${box}>
      <header class="modal-head"><h2>${title}</h2><button type="button" class="modal-x" aria-label=${t('关闭', 'Close')} onClick=${onClose}>×</button></header>
      <div class="modal-body">${children}</div>
      ${footer && html`<footer class="modal-foot">${footer}</footer>`}
    </div>
  </div>`;
}

/**
 * A modal that asks for a reason (or other fields) and runs `onSubmit(values)`; an ApiError it throws is
 * shown in the dialog. fields: [{name, label, kind: 'text'|'textarea'|'date'|'select', options, required}].
 */
export function FormDialog({ title, fields, initial = {}, submitText, danger = false, onSubmit, onClose }) {
  const [values, setValues] = useState(initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const missing = fields.filter((f) => f.required && !String(values[f.name] ?? '').trim());
  const perField = error ? fieldErrors(error) : {};
  const submit = async (e) => {
    e?.preventDefault();
    if (missing.length) return;
    setBusy(true);
    setError(null);
    try {
      await onSubmit(values);
      onClose?.();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  const set = (name) => (v) => setValues((o) => ({ ...o, [name]: v }));
  return html`<${Modal} title=${title} onClose=${onClose} footer=${html`
      <${Button} onClick=${onClose}>${t('取消', 'Cancel')}<//>
      <${Button} kind=${danger ? 'danger' : 'primary'} busy=${busy} disabled=${missing.length > 0} onClick=${submit}>${submitText ?? t('确定', 'OK')}<//>`}>
    <form onSubmit=${submit}>
      ${fields.map((f) => html`<${Field} label=${f.label} required=${f.required} hint=${f.hint} error=${perField[f.name]}>
        ${f.kind === 'textarea' ? html`<${TextArea} name=${f.name} value=${values[f.name]} onInput=${set(f.name)} />`
          : f.kind === 'select' ? html`<${Select} name=${f.name} value=${values[f.name]} onChange=${set(f.name)} options=${f.options} placeholder=${f.placeholder ?? ''} />`
          : html`<${Input} name=${f.name} type=${f.kind ?? 'text'} value=${values[f.name]} onInput=${set(f.name)} />`}
      <//>`)}
      <${ErrorLine} error=${error} />
    </form>
  <//>`;
}

// ---- toasts -------------------------------------------------------------------------------------

const toasts = signal([]);
let toastSeq = 0;

/** Shows a short message at the corner; tone 'ok' | 'bad' | 'info'. An ApiError is put in words. */
export function toast(message, tone = 'ok') {
  const id = ++toastSeq;
  const text = message instanceof Error ? errorText(message) : message;
  toasts.value = [...toasts.value, { id, text, tone: message instanceof Error ? 'bad' : tone }];
  setTimeout(() => { toasts.value = toasts.value.filter((x) => x.id !== id); }, tone === 'bad' || message instanceof Error ? 8000 : 4000);
}

export function Toasts() {
  return html`<div class="toasts" aria-live="polite">${toasts.value.map((x) => html`<div class=${`toast toast-${x.tone}`} key=${x.id}>${x.text}</div>`)}</div>`;
}

// ---- data loading -------------------------------------------------------------------------------

/**
 * Runs `load()` (returning a promise) when deps change; {data, error, loading, reload}. A late answer
 * of an older run is dropped.
 */
export function useAsync(load, deps = []) {
  const [state, setState] = useState({ data: undefined, error: null, loading: true });
  const run = useRef(0);
  const reload = useCallback(() => {
    const mine = ++run.current;
    setState((s) => ({ ...s, loading: true, error: null }));
    Promise.resolve().then(load).then(
      (data) => { if (mine === run.current) setState({ data, error: null, loading: false }); },
      (error) => { if (mine === run.current) setState({ data: undefined, error, loading: false }); },
    );
  }, deps);
  useEffect(() => { reload(); }, [reload]);
  return { ...state, reload };
}

/** Shows loading, the error, or `children(data)`. */
export function Async({ state, children }) {
  if (state.error) return html`<${ErrorState} error=${state.error} retry=${state.reload} />`;
  if (state.loading && state.data === undefined) return html`<${Loading} />`;
  return children(state.data);
}

/**
 * A table over a paged list endpoint. columns: [{key, title, render(row), class}]. The cursor of each
 * page seen is kept so that "previous" returns to it. `onRow(row)` makes rows clickable.
 */
export function PagedTable({ path, params = {}, columns, limit = 50, onRow, rowKey = (r) => r.id, empty, rowClass, reloadKey, onLoaded, cursorParam = 'after' }) {
  const [cursors, setCursors] = useState([null]);
  const key = JSON.stringify([path, params, reloadKey]);
  useEffect(() => { setCursors([null]); }, [key]);
  const after = cursors[cursors.length - 1];
  const state = useAsync(() => get(path, { ...params, limit, [cursorParam]: after ?? undefined }), [key, after]);
  useEffect(() => { if (state.data) onLoaded?.(state.data); }, [state.data]);
  const page = state.data;
  return html`<div class="table-wrap">
    ${state.error ? html`<${ErrorState} error=${state.error} retry=${state.reload} />` : html`
    <table class=${`table ${onRow ? 'table-click' : ''} ${state.loading ? 'is-loading' : ''}`}>
      <thead><tr>${columns.map((c) => html`<th class=${c.class}>${c.title}</th>`)}</tr></thead>
      <tbody>
        ${page?.items?.map((row) => html`<tr key=${rowKey(row)} class=${rowClass?.(row)} onClick=${onRow ? () => onRow(row) : undefined}
            tabindex=${onRow ? 0 : undefined} onKeyDown=${onRow ? (e) => { if (e.key === 'Enter') onRow(row); } : undefined}>
          ${columns.map((c) => html`<td class=${c.class}>${c.render ? c.render(row) : row[c.key]}</td>`)}
        </tr>`)}
      </tbody>
    </table>
    ${page && page.items.length === 0 && html`<${Empty} text=${empty} />`}
    ${!page && state.loading && html`<${Loading} />`}
    <div class="pager">
      <${Button} disabled=${cursors.length <= 1 || state.loading} onClick=${() => setCursors((c) => c.slice(0, -1))}>${t('上一页', 'Previous')}<//>
      <span class="pager-at">${t(`第 ${cursors.length} 页`, `Page ${cursors.length}`)}</span>
      <${Button} disabled=${!page?.next || state.loading} onClick=${() => setCursors((c) => [...c, page.next])}>${t('下一页', 'Next')}<//>
    </div>`}
  </div>`;
}

// ---- org units ----------------------------------------------------------------------------------

const unitCache = new Map();

/** One org unit (cached for the page's life). */
export function getUnit(id) {
  if (!unitCache.has(id)) {
    const p = get(`/org-units/${id}`);
    p.catch(() => unitCache.delete(id));
    unitCache.set(id, p);
  }
  return unitCache.get(id);
}

const childCache = new Map();

/** The children of an org unit (every page). */
export function getChildren(parentId) {
  if (!childCache.has(parentId)) {
    const p = (async () => {
      const items = [];
      let after = null;
      for (let i = 0; i < 20; i++) {
        const page = await get('/org-units', { parent_id: parentId, limit: 500, after });
        items.push(...page.items);
        if (!page.next) break;
        after = page.next;
      }
      return items;
    })();
    p.catch(() => childCache.delete(parentId));
    childCache.set(parentId, p);
  }
  return childCache.get(parentId);
}

/**
 * Picks an org unit down from `rootId` (the caller's own unit): one select per level, each offering the
 * children of the level above. `onChange(unit)` gets the deepest chosen unit (the root when none).
 * `stopAt` (an OrgKind) ends the chain at that level.
 */
export function UnitPicker({ rootId, value, onChange, stopAt = 'grid', label: caption }) {
  const [chain, setChain] = useState([]); // units chosen below the root
  const [levels, setLevels] = useState([]); // children lists: levels[i] = children of (i === 0 ? root : chain[i-1])
  const [root, setRoot] = useState(null);
  const [error, setError] = useState(null);

  useEffect(() => {
    let live = true;
    (async () => {
      try {
        const r = await getUnit(rootId);
        // Rebuild the chain for a given value inside the subtree (e.g. from the URL).
        let path = [];
        if (value && value !== rootId) {
          const target = await getUnit(value);
          const codes = target.path.split('/').filter(Boolean);
          const rootAt = codes.indexOf(r.code);
          if (rootAt >= 0) {
            let parent = r;
            for (const code of codes.slice(rootAt + 1)) {
              const kids = await getChildren(parent.id);
              const next = kids.find((k) => k.code === code);
              if (!next) break;
              path.push(next);
              parent = next;
            }
          }
        }
        const lists = [await getChildren(r.id)];
        for (const u of path) if (u.kind !== stopAt) lists.push(await getChildren(u.id));
        if (!live) return;
        setRoot(r);
        setChain(path);
        setLevels(lists);
      } catch (e) {
        if (live) setError(e);
      }
    })();
    return () => { live = false; };
  }, [rootId]);

  const choose = async (depth, id) => {
    const list = levels[depth] ?? [];
    const unit = list.find((u) => String(u.id) === String(id)) ?? null;
    const nextChain = [...chain.slice(0, depth), ...(unit ? [unit] : [])];
    let nextLevels = levels.slice(0, depth + 1);
    if (unit && unit.kind !== stopAt) {
      try {
        const kids = await getChildren(unit.id);
        if (kids.length) nextLevels = [...nextLevels, kids];
      } catch (e) {
        setError(e);
      }
    }
    setChain(nextChain);
    setLevels(nextLevels);
    onChange?.(nextChain.length ? nextChain[nextChain.length - 1] : root);
  };

  if (error) return html`<${ErrorLine} error=${error} />`;
  if (!root) return html`<span class="unit-picker muted">${t('加载单位…', 'Loading units…')}</span>`;
  return html`<div class="unit-picker" role="group" aria-label=${caption ?? t('选择单位', 'Choose a unit')}>
    <span class="unit-root">${root.name}</span>
    ${levels.map((list, depth) => list.length > 0 && html`
      <select class="input" aria-label=${label('org_kind', list[0]?.kind)} value=${chain[depth]?.id ?? ''} onChange=${(e) => choose(depth, e.currentTarget.value)}>
        <option value="">${allOf(list[0]?.kind)}</option>
        ${list.map((u) => html`<option value=${u.id} selected=${chain[depth]?.id === u.id}>${u.name}</option>`)}
      </select>`)}
  </div>`;
}

const PLURAL = { city: 'cities', district: 'districts', street: 'streets', community: 'communities', grid: 'grids' };

/** "全部街道" / "All streets". */
function allOf(kind) {
  return t(`全部${label('org_kind', kind)}`, `All ${PLURAL[kind] ?? 'units'}`);
}

/** The name of an org unit by id, loaded on demand. */
export function UnitName({ id }) {
  const [name, setName] = useState(null);
  useEffect(() => {
    let live = true;
    if (id !== null && id !== undefined) getUnit(id).then((u) => live && setName(u.name), () => live && setName(`#${id}`));
    return () => { live = false; };
  }, [id]);
  return html`<span>${name ?? '…'}</span>`;
}

/** Navigates the console's hash router. */
export function go(hash) {
  location.hash = hash.startsWith('#') ? hash : `#${hash}`;
}

/** The query part of the current hash (`#/households?grid=12` → URLSearchParams). */
export function hashQuery() {
  const i = location.hash.indexOf('?');
  return new URLSearchParams(i >= 0 ? location.hash.slice(i + 1) : '');
}

export { ApiError };

// ---- charts -------------------------------------------------------------------------------------

let echartsModule = null;

/** ECharts (its small build), loaded on the first chart only: the overview's numbers come first. */
export function loadECharts() {
  if (!echartsModule) {
    echartsModule = import('../vendor/echarts.js').then((m) => m.default);
    echartsModule.catch(() => { echartsModule = null; });
  }
  return echartsModule;
}

/** An ECharts chart of `option`; resized with its box. `label` describes it for screen readers. */
export function Chart({ option, height = 220, label: caption }) {
  const box = useRef(null);
  const chart = useRef(null);
  const [error, setError] = useState(null);
  // The option of the latest render: ECharts may arrive after the data has changed.
  const latest = useRef(option);
  latest.current = option;
  useEffect(() => {
    let live = true;
    let observer = null;
    loadECharts().then((echarts) => {
      if (!live || !box.current) return;
      chart.current = echarts.init(box.current, null, { renderer: 'canvas' });
      chart.current.setOption(latest.current);
      box.current.dataset.drawn = 'true';
      observer = new ResizeObserver(() => chart.current?.resize());
      observer.observe(box.current);
    }, (e) => live && setError(e));
    return () => {
      live = false;
      observer?.disconnect();
      chart.current?.dispose();
      chart.current = null;
    };
  }, []);
  useEffect(() => { chart.current?.setOption(option, true); }, [JSON.stringify(option)]);
  if (error) return html`<p class="muted">${t('图表加载失败', 'The chart could not be loaded')}</p>`;
  return html`<div class="chart" ref=${box} style=${{ height: `${height}px` }} role="img" aria-label=${caption}></div>`;
}

/** Colours shared by the charts and the map (a sober palette that prints well). */
export const PALETTE = ['#1d5fbf', '#b3261e', '#1f7a3a', '#9a5b00', '#6b4fbb', '#0e7c86', '#c2185b', '#5d6b7a', '#8d6e00', '#2e7d32', '#ad1457', '#37474f'];
