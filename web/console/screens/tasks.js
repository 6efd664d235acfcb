// Tasks: a board by state (overdue marked), filters, bulk creation for a grid or a list of
// households, assignment and reassignment to a worker the task may go to (the API's
// `assignable_for`: active grid workers of the household's grid), cancellation with a reason.

import { html, useState, useEffect, useMemo, useCallback } from '../../shared/html.js';
import { get, post, getAll } from '../../shared/api.js';
import { t, label, errorText } from '../../shared/i18n.js';
import { fmtDate, dueWords, addDays, todayShanghai } from '../../shared/time.js';
import {
  Button, Badge, EnumBadge, PageHead, Modal, Field, Input, TextArea, Select, EnumSelect, ErrorLine,
  FormDialog, Loading, ErrorState, Empty, Tabs, UnitPicker, toast, useAsync,
} from '../ui.js';
import { useWorkflowStyles } from '../workflow/style.js';
import { HouseholdName, usersById, userName } from '../workflow/people.js';

const OPEN = ['pending', 'assigned', 'accepted', 'submitted'];
const CLOSED = ['reviewed', 'cancelled'];
const ASSIGNABLE = ['pending', 'assigned', 'accepted'];
const KINDS = ['visit', 'verify', 'recheck'];
const PAGE = 30;

/** One column of the board: the first page of its state, more on demand. */
function useColumn(state, filter, reloadKey) {
  const [pages, setPages] = useState({ items: [], next: null, loading: true, error: null });
  const load = useCallback(async (after) => {
    setPages((p) => ({ ...p, loading: true, error: null }));
    try {
      const page = await get('/tasks', { state, assignee_id: filter.assignee || null, limit: PAGE, after });
      setPages((p) => ({ items: after ? [...p.items, ...page.items] : page.items, next: page.next ?? null, loading: false, error: null }));
    } catch (error) {
      setPages((p) => ({ ...p, loading: false, error }));
    }
  }, [state, filter.assignee, reloadKey]);
  useEffect(() => { load(null); }, [load]);
  return { ...pages, more: () => load(pages.next), reload: () => load(null) };
}

function TaskCard({ task, users, selected, onSelect, onAssign, onCancel }) {
  const open = ASSIGNABLE.includes(task.state);
  return html`<article class=${`wf-card ${task.overdue ? 'is-overdue' : ''} ${selected ? 'is-selected' : ''}`}
      data-task=${task.id} data-state=${task.state} data-overdue=${task.overdue ? 'true' : 'false'}>
    <div class="wf-card-title">
      ${open && html`<input type="checkbox" checked=${selected} onChange=${(e) => onSelect(task, e.currentTarget.checked)}
        aria-label=${t('选择此任务', 'Select this task')} />`}
      <${HouseholdName} id=${task.household_id} />
    </div>
    <div class="wf-card-meta">
      <span>${label('task_kind', task.kind)}</span>
      <span class=${task.overdue ? 'wf-overdue' : ''} title=${t('截止日期', 'Due date')}>
        ${t('截止', 'Due')} ${fmtDate(task.due_date)}${task.overdue ? ` · ${dueWords(task.due_date)}` : ''}</span>
      ${task.priority > 0 && html`<${Badge} tone="warn">${t('优先', 'Priority')} ${task.priority}<//>`}
    </div>
    <div class="wf-card-meta">
      <span>${task.assignee_id ? `${t('网格员：', 'Worker: ')}${userName(users, task.assignee_id)}` : html`<span class="muted">${t('未指派', 'Unassigned')}</span>`}</span>
    </div>
    ${task.note && html`<div class="wf-card-meta">${task.note}</div>`}
    ${open && html`<div class="wf-card-actions">
      <${Button} onClick=${() => onAssign([task])} data-action="assign">${task.assignee_id ? t('改派', 'Reassign') : t('指派', 'Assign')}<//>
      <${Button} kind="link" onClick=${() => onCancel(task)} data-action="cancel">${t('取消任务', 'Cancel')}<//>
    </div>`}
  </article>`;
}

function Column({ state, filter, reloadKey, users, selected, onSelect, onAssign, onCancel, wide }) {
  const col = useColumn(state, filter, reloadKey);
  const shown = col.items.filter((x) => (!filter.kind || x.kind === filter.kind) && (!filter.overdue || x.overdue));
  const overdue = col.items.filter((x) => x.overdue).length;
  return html`<section class=${`wf-column ${wide ? 'wf-column-closed' : ''}`} data-column=${state} aria-label=${label('task_state', state)}>
    <header><${EnumBadge} kind="task_state" value=${state} />
      <span class="wf-count">${col.items.length}${col.next ? '+' : ''}</span>
      ${overdue > 0 && html`<span class="wf-overdue">${t(`逾期 ${overdue}`, `${overdue} overdue`)}</span>`}
    </header>
    ${col.error ? html`<${ErrorState} error=${col.error} retry=${col.reload} />` : html`
      <div class="wf-cards">
        ${shown.map((task) => html`<${TaskCard} key=${task.id} task=${task} users=${users} selected=${selected.has(task.id)}
          onSelect=${onSelect} onAssign=${onAssign} onCancel=${onCancel} />`)}
      </div>
      ${!col.loading && shown.length === 0 && html`<p class="muted">${t('无任务', 'No tasks')}</p>`}
      ${col.loading && html`<${Loading} />`}
      ${col.next && !col.loading && html`<${Button} kind="link" onClick=${col.more}>${t('加载更多', 'Load more')}<//>`}`}
  </section>`;
}

/** The workers every one of these tasks may go to: the API's `assignable_for`, intersected. */
async function eligibleFor(tasks) {
  const households = [...new Set(tasks.map((x) => x.household_id))];
  let common = null;
  for (const h of households) {
    const list = await getAll('/users', { assignable_for: h }, { limit: 200, maxPages: 5 });
    const ids = new Set(list.map((u) => u.id));
    common = common === null ? list : common.filter((u) => ids.has(u.id));
  }
  return common ?? [];
}

function AssignDialog({ tasks, onClose, onDone }) {
  const state = useAsync(() => eligibleFor(tasks), [tasks.map((x) => x.id).join()]);
  const [choice, setChoice] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const current = new Set(tasks.map((x) => x.assignee_id).filter(Boolean));
  const submit = async () => {
    setBusy(true);
    setError(null);
    let done = 0;
    try {
      for (const task of tasks) {
        await post(`/tasks/${task.id}/assign`, { assignee_id: choice });
        done++;
      }
      toast(t(`已指派 ${done} 项任务`, `${done} task(s) assigned`));
      onDone();
    } catch (e) {
      setError(e);
      setBusy(false);
      if (done) onDone({ keepOpen: true });
    }
  };
  const title = tasks.length === 1 ? (tasks[0].assignee_id ? t('改派任务', 'Reassign the task') : t('指派任务', 'Assign the task'))
    : t(`指派 ${tasks.length} 项任务`, `Assign ${tasks.length} tasks`);
  return html`<${Modal} title=${title} onClose=${onClose} footer=${html`
      <${Button} onClick=${onClose}>${t('取消', 'Cancel')}<//>
      <${Button} kind="primary" busy=${busy} disabled=${!choice} onClick=${submit} data-action="confirm-assign">${t('确定指派', 'Assign')}<//>`}>
    <p class="muted">${t('只列出可接收这些任务的网格员：该户所在社区在岗的网格员。', 'Only the workers these tasks may go to: active grid workers of the household’s community.')}</p>
    ${state.loading ? html`<${Loading} />` : state.error ? html`<${ErrorState} error=${state.error} retry=${state.reload} />`
      : state.data.length === 0 ? html`<${Empty} text=${t('没有可指派的网格员（所选任务不在同一社区，或社区无在岗网格员）', 'No worker may take all of these tasks (different communities, or no active worker)')} />`
      : html`<ul class="wf-workers" role="radiogroup" aria-label=${t('网格员', 'Grid workers')}>
        ${state.data.map((u) => html`<li><label>
          <input type="radio" name="assignee" value=${u.id} checked=${choice === u.id} onChange=${() => setChoice(u.id)} />
          <span class="grow">${u.display_name} <span class="muted">（${u.username}）</span></span>
          <span class="muted mono">${u.org_unit_code}</span>
          ${current.has(u.id) && html`<${Badge} tone="info">${t('当前', 'Current')}<//>`}
        </label></li>`)}
      </ul>`}
    <${ErrorLine} error=${error} />
  <//>`;
}

function HouseholdChooser({ me, chosen, setChosen }) {
  const [name, setName] = useState('');
  const [grid, setGrid] = useState(null);
  const [query, setQuery] = useState(null);
  const results = useAsync(() => (query ? get('/households', { ...query, limit: 100 }) : Promise.resolve({ items: [] })), [JSON.stringify(query)]);
  const search = (e) => {
    e?.preventDefault();
    setQuery({ name: name.trim() || null, grid_id: grid?.kind === 'grid' ? grid.id : null });
  };
  const toggle = (h, on) => setChosen((c) => {
    const next = new Map(c);
    if (on) next.set(h.id, h); else next.delete(h.id);
    return next;
  });
  const items = results.data?.items ?? [];
  return html`<div class="stack">
    <div class="filters">
      <${Field} label=${t('户主或成员姓名（开头）', 'Name of a member (starts with)')}>
        <${Input} name="household-name" value=${name} onInput=${setName} onKeyDown=${(e) => { if (e.key === 'Enter') search(e); }} />
      <//>
      <${Field} label=${t('网格', 'Grid')}><${UnitPicker} rootId=${me.org_unit_id} onChange=${setGrid} /><//>
      <${Button} onClick=${search} data-action="search-households">${t('查找', 'Search')}<//>
    </div>
    ${results.loading && query ? html`<${Loading} />` : results.error ? html`<${ErrorLine} error=${results.error} />` : query && html`
      <div class="wf-households" data-testid="household-results">
        ${items.length === 0 && html`<p class="muted">${t('没有符合条件的住户', 'No household matches')}</p>`}
        ${items.length > 0 && html`<label><input type="checkbox" checked=${items.every((h) => chosen.has(h.id))}
          onChange=${(e) => items.forEach((h) => toggle(h, e.currentTarget.checked))} /> <strong>${t('全选本页', 'All on this page')}（${items.length}）</strong></label>`}
        ${items.map((h) => html`<label key=${h.id}><input type="checkbox" name="household" value=${h.id} checked=${chosen.has(h.id)} onChange=${(e) => toggle(h, e.currentTarget.checked)} />
          <span class="grow">${h.head_name ?? '—'} · ${h.address}</span><span class="muted">${label('household_status', h.status)}</span></label>`)}
      </div>`}
    <p>${t(`已选 ${chosen.size} 户`, `${chosen.size} household(s) chosen`)}</p>
  </div>`;
}

function BulkDialog({ me, onClose, onDone }) {
  const forms = useAsync(() => get('/forms'), []);
  const [mode, setMode] = useState('grid');
  const [grid, setGrid] = useState(null);
  const [chosen, setChosen] = useState(new Map());
  const [kind, setKind] = useState('visit');
  const [formKey, setFormKey] = useState('');
  const [due, setDue] = useState(addDays(todayShanghai(), 7));
  const [priority, setPriority] = useState('0');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [result, setResult] = useState(null);
  useEffect(() => {
    if (!formKey && forms.data?.length) setFormKey((forms.data.find((f) => f.key === 'home_visit') ?? forms.data[0]).key);
  }, [forms.data]);
  const target = mode === 'grid' ? (grid?.kind === 'grid' ? { grid: grid.id } : null)
    : (chosen.size ? { households: [...chosen.keys()] } : null);
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await post('/tasks/bulk', { kind, form_key: formKey, target, due_date: due, priority: Number(priority) || 0, note });
      setResult(r);
      onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const footer = result ? html`<${Button} kind="primary" onClick=${onClose}>${t('完成', 'Done')}<//>` : html`
    <${Button} onClick=${onClose}>${t('取消', 'Cancel')}<//>
    <${Button} kind="primary" busy=${busy} disabled=${!target || !formKey || !due} onClick=${submit} data-action="create-bulk">${t('创建任务', 'Create tasks')}<//>`;
  return html`<${Modal} wide title=${t('批量创建走访任务', 'Create tasks in bulk')} onClose=${onClose} footer=${footer}>
    ${result ? html`<div class="wf-result" role="status" data-testid="bulk-result">
        <p>${t(`已创建 ${result.created} 项任务，其中 ${result.assigned} 项已自动指派给该网格唯一的网格员；${result.skipped} 户已有同类未完成任务，已跳过。`,
          `${result.created} task(s) created, ${result.assigned} assigned to the grid's only worker; ${result.skipped} household(s) skipped (an open task of this kind exists).`)}</p>
        ${result.created > result.assigned && html`<p>${t('未指派的任务在“待指派”列，可勾选后批量指派。', 'Unassigned tasks wait in the Pending column: tick them and assign them together.')}</p>`}
      </div>` : html`
    <${Tabs} value=${mode} onChange=${setMode} tabs=${[['grid', t('整个网格', 'A whole grid')], ['list', t('住户清单', 'A list of households')]]} />
    <div class="stack">
      ${mode === 'grid' ? html`<${Field} label=${t('网格', 'Grid')} required hint=${t('该网格的每一户各建一项任务；网格只有一名网格员时自动指派。', 'One task per household of the grid; assigned when the grid has exactly one worker.')}>
          <${UnitPicker} rootId=${me.org_unit_id} onChange=${setGrid} />
        <//>
        ${grid && grid.kind !== 'grid' && html`<p class="muted">${t('请选到网格一级', 'Choose down to a grid')}</p>`}`
        : html`<${HouseholdChooser} me=${me} chosen=${chosen} setChosen=${setChosen} />`}
      <div class="grid-2">
        <${Field} label=${t('任务类型', 'Kind')} required><${EnumSelect} kind="task_kind" values=${KINDS} value=${kind} onChange=${setKind} name="kind" /><//>
        <${Field} label=${t('表单', 'Form')} required>
          ${forms.loading ? html`<${Loading} />` : html`<${Select} name="form_key" value=${formKey} onChange=${setFormKey}
            options=${(forms.data ?? []).map((f) => [f.key, `${t(f.title.zh, f.title.en)}（v${f.latest_version}）`])} />`}
        <//>
        <${Field} label=${t('截止日期', 'Due date')} required><${Input} type="date" name="due_date" min=${todayShanghai()} value=${due} onInput=${setDue} /><//>
        <${Field} label=${t('优先级', 'Priority')}><${Select} name="priority" value=${priority} onChange=${setPriority}
          options=${[['0', t('普通', 'Normal')], ['1', t('较高', 'High')], ['2', t('紧急', 'Urgent')]]} /><//>
      </div>
      <${Field} label=${t('说明（网格员可见）', 'Note (the worker sees it)')}><${TextArea} name="note" value=${note} onInput=${setNote} rows=${2} /><//>
      <${ErrorLine} error=${error} />
    </div>`}
  <//>`;
}

export default function Tasks({ me }) {
  useWorkflowStyles();
  const [filter, setFilter] = useState({ kind: '', assignee: '', overdue: false });
  const [showClosed, setShowClosed] = useState(false);
  const [reloadKey, setReloadKey] = useState(0);
  const [selected, setSelected] = useState(new Map());
  const [assigning, setAssigning] = useState(null);
  const [cancelling, setCancelling] = useState(null);
  const [bulk, setBulk] = useState(false);
  const users = useAsync(() => usersById(me), [me.id]);
  const workers = useMemo(() => [...(users.data?.values() ?? [])].filter((u) => u.role === 'grid_worker'), [users.data]);
  const canManage = ['coordinator', 'street_officer', 'district_officer', 'admin'].includes(me.role);
  const reload = () => { setSelected(new Map()); setReloadKey((k) => k + 1); };
  const onSelect = (task, on) => setSelected((s) => {
    const next = new Map(s);
    if (on) next.set(task.id, task); else next.delete(task.id);
    return next;
  });
  const set = (k) => (v) => setFilter((f) => ({ ...f, [k]: v }));
  const common = { filter, reloadKey, users: users.data, selected, onSelect, onAssign: setAssigning, onCancel: setCancelling };
  return html`<div class="stack" data-screen="tasks">
    <${PageHead} title=${t('走访任务', 'Tasks')}>
      ${canManage && html`<${Button} kind="primary" onClick=${() => setBulk(true)} data-action="bulk">${t('批量创建', 'Create in bulk')}<//>`}
      <${Button} onClick=${reload}>${t('刷新', 'Refresh')}<//>
    <//>
    <div class="filters" role="search">
      <${Field} label=${t('任务类型', 'Kind')}><${EnumSelect} kind="task_kind" values=${KINDS} value=${filter.kind} onChange=${set('kind')} placeholder=${t('全部', 'All')} name="filter-kind" /><//>
      <${Field} label=${t('网格员', 'Worker')}><${Select} name="filter-assignee" value=${filter.assignee} onChange=${set('assignee')} placeholder=${t('全部', 'All')}
        options=${workers.map((u) => [u.id, `${u.display_name}（${u.username}）`])} /><//>
      <label class="wf-check"><input type="checkbox" name="filter-overdue" checked=${filter.overdue} onChange=${(e) => set('overdue')(e.currentTarget.checked)} />${t('只看逾期', 'Overdue only')}</label>
      <label class="wf-check"><input type="checkbox" checked=${showClosed} onChange=${(e) => setShowClosed(e.currentTarget.checked)} />${t('显示已审核、已取消', 'Show reviewed and cancelled')}</label>
    </div>
    ${selected.size > 0 && html`<div class="wf-selection" role="region" aria-label=${t('已选任务', 'Selected tasks')}>
      <span data-testid="selected-count">${t(`已选 ${selected.size} 项`, `${selected.size} selected`)}</span>
      <${Button} kind="primary" onClick=${() => setAssigning([...selected.values()])} data-action="assign-selected">${t('指派所选', 'Assign the selected')}<//>
      <${Button} kind="link" onClick=${() => setSelected(new Map())}>${t('清除选择', 'Clear')}<//>
    </div>`}
    <div class="wf-board">
      ${OPEN.map((s) => html`<${Column} key=${s} state=${s} ...${common} />`)}
      ${showClosed && CLOSED.map((s) => html`<${Column} key=${s} state=${s} wide ...${common} />`)}
    </div>
    ${assigning && html`<${AssignDialog} tasks=${assigning} onClose=${() => setAssigning(null)}
      onDone=${(o) => { if (!o?.keepOpen) setAssigning(null); reload(); }} />`}
    ${cancelling && html`<${FormDialog} title=${t('取消任务', 'Cancel the task')} danger submitText=${t('确定取消', 'Cancel the task')}
      fields=${[{ name: 'reason', label: t('取消原因（网格员手机上会看到任务被撤回）', 'Reason (the task disappears from the worker’s phone)'), kind: 'textarea', required: true }]}
      onSubmit=${async (v) => { await post(`/tasks/${cancelling.id}/cancel`, { reason: v.reason.trim() }); toast(t('任务已取消', 'Task cancelled')); reload(); }}
      onClose=${() => setCancelling(null)} />`}
    ${bulk && html`<${BulkDialog} me=${me} onClose=${() => setBulk(false)} onDone=${reload} />`}
  </div>`;
}
