// The visit form: every field kind the form engine knows, with skip logic, calculations,
// constraints and required answers applied live by web/shared/form-engine.js, so the messages are
// the server's own. The draft is written to IndexedDB on every change (a reload or a dead battery
// loses nothing); photos are shrunk and kept as blobs; the position is watched until it is good.
// "完成" queues the visit in the outbox under its own UUID, made when the draft began.

import { html, useEffect, useMemo, useRef, useState } from '../../shared/html.js';
import { t, pick, half, lang } from '../../shared/i18n.js';
import { fmtDate, fmtDateTime } from '../../shared/time.js';
import { compileForm } from '../../shared/form-engine.js';
import { task as getTask, household as getHousehold, form as getForm, draft as getDraft, saveDraft, putPhoto, photo as getPhoto, queueVisit } from '../store.js';
import { go, online } from '../state.js';
import { push } from '../outbox.js';
import { locate, distanceM, fmtDistance, GOOD_ACCURACY_M } from '../geo.js';
import { shrink, sha256Hex } from '../photo.js';

/** A UUID v7 (time-ordered), as the SDK makes visit ids. */
export function uuidv7() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let ts = Date.now();
  for (let i = 5; i >= 0; i--) { b[i] = ts % 256; ts = Math.floor(ts / 256); }
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ---- answers by path: `members[1].birth_date` ----------------------------------------------

function setPath(answers, path, value) {
  const out = structuredClone(answers);
  let obj = out;
  for (let i = 0; i < path.length - 1; i++) obj = obj[path[i]];
  const last = path[path.length - 1];
  if (value === undefined) delete obj[last];
  else obj[last] = value;
  return out;
}

function getPath(obj, path) {
  let v = obj;
  for (const p of path) { if (v === null || v === undefined) return undefined; v = v[p]; }
  return v;
}

const pathText = (path) => path.reduce((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : p), '');

/** Photo answers of the cleaned answer set, in form order, each id once. */
export function photoIds(fields, answers) {
  const out = [];
  const walk = (fs, obj) => {
    for (const f of fs) {
      const v = obj?.[f.name];
      if (f.kind === 'photo' && typeof v === 'string' && !out.includes(v)) out.push(v);
      if (f.kind === 'repeat' && Array.isArray(v)) for (const inst of v) walk(f.fields ?? [], inst);
    }
  };
  walk(fields, answers);
  return out;
}

function parseNumber(kind, text) {
  const s = text.trim();
  if (s === '') return undefined;
  if (kind === 'integer' && /^-?\d+$/.test(s)) {
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : s;
  }
  if (kind === 'decimal' && /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return Number(s);
  return s; // the engine says what is wrong with it, in the server's words
}

// ---- one field -------------------------------------------------------------------------------

function Errors({ list }) {
  if (!list?.length) return null;
  return html`<div class="field-errors" role="alert">${list.map((e) => html`<p class="error-line" data-code=${e.code}>${half(e.message)}</p>`)}</div>`;
}

function PhotoField({ ctx, path, value }) {
  const [url, setUrl] = useState(null);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState(null);
  useEffect(() => {
    let u = null;
    if (value) getPhoto(value).then((p) => { if (p?.blob) { u = URL.createObjectURL(p.blob); setUrl(u); } else setUrl(null); });
    else setUrl(null);
    return () => { if (u) URL.revokeObjectURL(u); };
  }, [value]);
  const take = async (ev) => {
    const file = ev.currentTarget.files?.[0];
    ev.currentTarget.value = '';
    if (!file) return;
    setBusy(true);
    setErr(null);
    try {
      const shrunk = await shrink(file);
      const id = crypto.randomUUID();
      await putPhoto({
        id, owner: `draft:${ctx.taskId}`, blob: shrunk.blob, size: shrunk.blob.size, sha256: await sha256Hex(shrunk.blob),
        width: shrunk.width, height: shrunk.height, exif: shrunk.exif, original_size: shrunk.original_size,
        state: 'queued', upload_id: null, offset: 0, created_at: new Date().toISOString(),
      });
      ctx.set(path, id);
    } catch (e) {
      setErr(t('照片无法读取，请重拍', 'The photo could not be read: take it again'));
    } finally {
      setBusy(false);
    }
  };
  const others = ctx.photos.filter((p) => p !== value);
  return html`<div class="photo-field">
    ${url ? html`<img class="thumb" src=${url} alt=${t('已拍照片', 'Photo taken')} data-testid="photo-thumb" />` : null}
    <label class=${`button secondary big ${busy ? 'busy' : ''}`}>
      ${busy ? t('正在处理…', 'Processing…') : value ? t('重拍', 'Retake') : t('拍照', 'Take a photo')}
      <input type="file" accept="image/*" capture="environment" class="hidden-input" onChange=${take} data-testid=${`photo-${pathText(path)}`} />
    </label>
    ${!value && others.length ? html`<button type="button" class="secondary" data-testid=${`reuse-${pathText(path)}`} onClick=${() => ctx.set(path, others[others.length - 1])}>
      ${t('用本次已拍的照片（如同一张签字单）', 'Use a photo already taken (the same signature sheet)')}</button>` : null}
    ${value ? html`<button type="button" class="link" onClick=${() => ctx.set(path, undefined)}>${t('移除', 'Remove')}</button>` : null}
    ${err ? html`<p class="error-line">${err}</p>` : null}
  </div>`;
}

function Field({ f, path, ctx }) {
  const p = pathText(path);
  if (!ctx.outcome.isRelevant(p)) return null;
  const value = getPath(ctx.answers, path);
  const shown = ctx.showAll || ctx.touched.has(p);
  const errors = shown ? ctx.outcome.errorsAt(p) : [];
  const touch = () => ctx.touch(p);
  const title = html`<span class="label">${pick(f.label)}${f.required ? html`<span class="req" aria-label=${t('必填', 'required')}>*</span>` : null}</span>`;
  const hint = f.hint ? html`<span class="hint">${pick(f.hint)}</span>` : null;
  let input;
  switch (f.kind) {
    case 'note':
      return html`<div class="note-field">${pick(f.label)}</div>`;
    case 'calculate': {
      const v = getPath(ctx.outcome.calculated, path);
      return html`<div class="field calc" data-field=${p}>${title}<output data-testid=${`calc-${p}`}>${v === null || v === undefined ? '—' : String(v)}</output></div>`;
    }
    case 'text':
      input = (f.max && (f.max.v ?? f.max) > 100)
        ? html`<textarea rows="3" value=${value ?? ''} onInput=${(e) => ctx.set(path, e.currentTarget.value || undefined)} onBlur=${touch} name=${p}></textarea>`
        : html`<input type="text" value=${value ?? ''} onInput=${(e) => ctx.set(path, e.currentTarget.value || undefined)} onBlur=${touch} name=${p} />`;
      break;
    case 'integer':
    case 'decimal':
      input = html`<input type="text" inputmode=${f.kind === 'integer' ? 'numeric' : 'decimal'} value=${value ?? ''}
        onInput=${(e) => ctx.set(path, parseNumber(f.kind, e.currentTarget.value))} onBlur=${touch} name=${p} />`;
      break;
    case 'date':
      input = html`<input type="date" value=${value ?? ''} onInput=${(e) => { ctx.set(path, e.currentTarget.value || undefined); }} onChange=${touch} onBlur=${touch} name=${p} />`;
      break;
    case 'boolean':
      input = html`<div class="choices two">${[[true, t('是', 'Yes')], [false, t('否', 'No')]].map(([v, l]) => html`
        <button type="button" class=${value === v ? 'choice on' : 'choice'} aria-pressed=${value === v} onClick=${() => { ctx.set(path, value === v ? undefined : v); touch(); }}>${l}</button>`)}</div>`;
      break;
    case 'select_one':
      input = html`<div class="choices" role="radiogroup">${(f.choices ?? []).map((c) => html`
        <button type="button" role="radio" aria-checked=${value === c.value} class=${value === c.value ? 'choice on' : 'choice'} data-value=${c.value}
          onClick=${() => { ctx.set(path, value === c.value ? undefined : c.value); touch(); }}>${pick(c.label)}</button>`)}</div>`;
      break;
    case 'select_multiple': {
      const list = Array.isArray(value) ? value : [];
      input = html`<div class="choices">${(f.choices ?? []).map((c) => {
        const on = list.includes(c.value);
        return html`<button type="button" role="checkbox" aria-checked=${on} class=${on ? 'choice on' : 'choice'} data-value=${c.value}
          onClick=${() => { const next = on ? list.filter((x) => x !== c.value) : [...list, c.value]; ctx.set(path, next.length ? next : undefined); touch(); }}>${pick(c.label)}</button>`;
      })}</div>`;
      break;
    }
    case 'geopoint':
      input = html`<div class="geo">
        ${value ? html`<span data-testid=${`geo-${p}`}>${value.lat.toFixed(6)}, ${value.lon.toFixed(6)}</span>` : html`<span class="muted">${t('未定位', 'No position')}</span>`}
        <button type="button" class="secondary" disabled=${!ctx.fix} onClick=${() => { ctx.set(path, { lat: ctx.fix.lat, lon: ctx.fix.lon }); touch(); }}>${t('使用当前定位', 'Use the current fix')}</button>
      </div>`;
      break;
    case 'photo':
      input = html`<${PhotoField} ctx=${ctx} path=${path} value=${value} />`;
      break;
    case 'repeat': {
      const list = Array.isArray(value) ? value : [];
      const max = f.max?.v ?? f.max;
      const min = f.min?.v ?? f.min;
      const groupErrors = shown ? ctx.outcome.errorsAt(p) : [];
      return html`<fieldset class="repeat" data-field=${p}>
        <legend>${pick(f.label)} (${list.length})</legend>
        ${list.map((_, i) => html`<div class="instance" key=${i}>
          <div class="row between"><strong>${pick(f.label)} ${i + 1}</strong>
            ${list.length > (typeof min === 'number' ? min : 0) ? html`<button type="button" class="link danger" onClick=${() => ctx.set(path, list.filter((__, j) => j !== i))}>${t('删除', 'Remove')}</button>` : null}</div>
          ${(f.fields ?? []).map((c) => html`<${Field} f=${c} path=${[...path, i, c.name]} ctx=${ctx} />`)}
        </div>`)}
        ${typeof max === 'number' && list.length >= max ? null : html`<button type="button" class="secondary big" data-testid=${`add-${p}`} onClick=${() => { ctx.set(path, [...list, {}]); }}>+ ${t('添加', 'Add')}${pick(f.label)}</button>`}
        <${Errors} list=${groupErrors} />
      </fieldset>`;
    }
    default:
      input = html`<span class="muted">${f.kind}</span>`;
  }
  return html`<div class=${`field ${errors.length ? 'has-error' : ''}`} data-field=${p}>
    <label>${title}${hint}</label>${input}<${Errors} list=${errors} /></div>`;
}

function OnSite({ since }) {
  const [, setNow] = useState(0);
  useEffect(() => { const id = setInterval(() => setNow((n) => n + 1), 1000); return () => clearInterval(id); }, []);
  const secs = Math.max(0, Math.round((Date.now() - Date.parse(since)) / 1000));
  return html`<span data-testid="on-site">${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')}</span>`;
}

// ---- the screen ------------------------------------------------------------------------------

export function VisitScreen({ taskId }) {
  const [state, setState] = useState(null);
  const [touched, setTouched] = useState(new Set());
  const [showAll, setShowAll] = useState(false);
  const [locating, setLocating] = useState(null);
  const [message, setMessage] = useState(null);
  const draftRef = useRef(null);

  useEffect(() => {
    let live = true;
    (async () => {
      const task = await getTask(taskId);
      if (!task) { setState({ missing: true }); return; }
      const [h, f] = await Promise.all([getHousehold(task.household_id), getForm(task.form_key, task.form_version)]);
      let d = await getDraft(taskId);
      if (!d) {
        const started = new Date().toISOString();
        d = { task_id: taskId, visit_id: uuidv7(), answers: {}, started_at: started, fix: null };
        if (f?.definition.fields.some((x) => x.name === 'visit_date' && x.kind === 'date')) d.answers.visit_date = fmtDate(started);
        await saveDraft(d);
      }
      const compiled = f ? compileForm(f.definition) : { form: null, errors: [] };
      if (!live) return;
      draftRef.current = d;
      // A draft whose finishing was refused shows its problems again when reopened.
      if (d.attempted) setShowAll(true);
      setState({ task, h, def: f?.definition, form: compiled.form, draft: d });
    })();
    return () => { live = false; };
  }, [taskId]);

  const update = (change) => {
    const d = { ...draftRef.current, ...change };
    draftRef.current = d;
    setState((s) => ({ ...s, draft: d }));
    saveDraft(d);
  };

  // Watch the position until it is good enough, once per opening.
  useEffect(() => {
    if (!state?.draft || state.missing) return;
    if (state.draft.fix && state.draft.fix.accuracy_m <= GOOD_ACCURACY_M) return;
    relocate();
  }, [Boolean(state?.draft)]);

  const relocate = () => {
    setLocating(t('正在定位…', 'Locating…'));
    locate({ onFix: (fix) => setLocating(t(`正在定位… 精度 ${Math.round(fix.accuracy_m)} 米`, `Locating… ±${Math.round(fix.accuracy_m)} m`)) })
      .then((fix) => {
        setLocating(null);
        const cur = draftRef.current;
        const answers = { ...cur.answers };
        // Empty geopoint questions take the visit's fix (the worker can still change them).
        for (const f of state?.def?.fields ?? []) if (f.kind === 'geopoint' && !answers[f.name]) answers[f.name] = { lat: fix.lat, lon: fix.lon };
        update({ fix, answers });
      })
      .catch((e) => setLocating(e.message === 'denied' ? t('未获定位权限：请在浏览器设置中允许定位', 'Location permission denied: allow it in the settings') : t('定位失败，请到室外或窗边后重试', 'No fix: move near a window and retry')));
  };

  const outcome = useMemo(() => {
    if (!state?.form) return null;
    return state.form.validate(state.draft.answers, { today: fmtDate(state.draft.started_at) });
  }, [state?.form, state?.draft?.answers]);

  if (!state) return null;
  if (state.missing) return html`<p class="empty">${t('任务已不在手机上。', 'The task is no longer on the phone.')} <a href="#/tasks">${t('返回', 'Back')}</a></p>`;
  if (!state.form) return html`<p class="empty">${t('表单未同步，请联网同步后再填写。', 'The form is not synced: sync online first.')}</p>`;
  void lang.value;
  const d = state.draft;
  const fields = state.def.fields;
  const ctx = {
    answers: d.answers, outcome, touched, showAll, fix: d.fix, taskId,
    photos: photoIds(fields, d.answers),
    set: (path, value) => update({ answers: setPath(d.answers, path, value) }),
    touch: (p) => setTouched((s) => (s.has(p) ? s : new Set(s).add(p))),
  };
  const dist = distanceM(d.fix, state.h?.location);

  const finish = async () => {
    setShowAll(true);
    if (!outcome.isValid()) {
      if (!d.attempted) update({ attempted: true });
      setMessage(t(`还有 ${outcome.errors.length} 处需要填写或改正`, `${outcome.errors.length} answers to fill in or correct`));
      requestAnimationFrame(() => document.querySelector('.field.has-error, .repeat .error-line')?.scrollIntoView({ block: 'center' }));
      return;
    }
    if (!d.fix) {
      setMessage(t('尚未定位：请等待定位或点“重新定位”', 'No position yet: wait for the fix or press Retry'));
      return;
    }
    const answers = outcome.cleaned(d.answers);
    const visit = {
      id: d.visit_id,
      task_id: state.task.id,
      form_key: state.task.form_key,
      form_version: state.task.form_version,
      answers,
      location: { lat: d.fix.lat, lon: d.fix.lon, accuracy_m: d.fix.accuracy_m, fix_time: d.fix.fix_time, mock: false },
      started_at: d.started_at,
      finished_at: new Date().toISOString(),
      photo_ids: photoIds(fields, answers),
      staff: [],
    };
    await queueVisit(visit, { task_id: state.task.id, address: state.h?.address ?? '' });
    go('outbox');
    if (online.value) push({ force: true });
  };

  return html`<section class="visit" data-testid="visit">
    <a class="back" href=${`#/task/${taskId}`}>‹ ${state.h?.address ?? ''}</a>
    <h2>${pick(state.def.title)}</h2>
    <div class="card onsite">
      <div class="row between"><span>${t('到达时间', 'Arrived')}</span><span>${fmtDateTime(d.started_at)}</span></div>
      <div class="row between"><span>${t('在户时长', 'Time on site')}</span><${OnSite} since=${d.started_at} /></div>
      <div class="row between"><span>${t('定位', 'Position')}</span>
        <span data-testid="fix">${d.fix ? `±${Math.round(d.fix.accuracy_m)} ${t('米', 'm')}${dist !== null ? ` · ${t('距住户', 'from home')} ${fmtDistance(dist)}` : ''}` : locating ?? t('未定位', 'none')}</span></div>
      ${locating && d.fix ? html`<div class="hint">${locating}</div>` : null}
      ${dist !== null && dist > 200 ? html`<p class="warn-line">${t('定位离登记住址较远，提交后将由协调员核实。', 'The fix is far from the registered address: a coordinator will check it.')}</p>` : null}
      <button type="button" class="secondary" onClick=${relocate} disabled=${Boolean(locating) && !d.fix}>${t('重新定位', 'Locate again')}</button>
    </div>
    <form class="form" onSubmit=${(e) => e.preventDefault()} novalidate>
      ${fields.map((f) => html`<${Field} f=${f} path=${[f.name]} ctx=${ctx} />`)}
    </form>
    ${message && !outcome.isValid() || message && !d.fix ? html`<p class="error-line big" role="alert" data-testid="form-message">${message}</p>` : null}
    <div class="sticky-actions">
      <button type="button" class="primary big" data-testid="finish" onClick=${finish}>${t('完成走访，保存待发送', 'Finish: save for sending')}</button>
    </div>
  </section>`;
}
