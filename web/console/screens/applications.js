// Applications: the list with its working-day clocks and overdue markers; one application with its
// progress, timeline and public notice, and only the steps the caller's role may take at the
// current step (the server's `allowed_actions`), each asking for what it needs: a reason, the
// home visit with its two investigators, the data check, the notice's dates, the exit's months.

import { html, useState, useEffect } from '../../shared/html.js';
import { get, post } from '../../shared/api.js';
import { t, label, values, half } from '../../shared/i18n.js';
import { fmtDate, fmtDateTime, todayShanghai, addDays } from '../../shared/time.js';
import {
  Button, EnumBadge, Badge, PageHead, Card, Facts, Field, Input, TextArea, Select, EnumSelect, ErrorLine,
  PagedTable, Async, useAsync, toast, go,
} from '../ui.js';
import { useWorkflowStyles } from '../workflow/style.js';
import { HouseholdName, household, householdLine, usersById, userName } from '../workflow/people.js';
import { stepsFor } from '../workflow/steps.js';
import { AsyncItem } from '../workflow/missing.js';
import { weekdaysBetween } from '../workflow/format.js';

const STATES = values('application_state');
const PATH = ['submitted', 'accepted', 'investigating', 'first_review', 'public_notice', 'approved', 'active'];
const UNDECIDED = ['accepted', 'investigating', 'first_review', 'public_notice', 'democratic_review'];

/** A limit as a countdown: the server's due date (working days, holidays counted) and the
 * weekdays left to it. */
function Clock({ due, late }) {
  if (!due) return html`<span class="muted">—</span>`;
  const left = weekdaysBetween(todayShanghai(), due);
  const isLate = late ?? left < 0;
  const text = left < 0 ? t(`逾期 ${-left} 个工作日`, `${-left} working day${left === -1 ? '' : 's'} late`)
    : left === 0 ? t('今天截止', 'due today') : t(`剩 ${left} 个工作日`, `${left} working day${left === 1 ? '' : 's'} left`);
  return html`<span class=${`wf-clock ${isLate ? 'is-late' : left <= 1 ? 'is-near' : ''}`}
      title=${t(`截止 ${fmtDate(due)}（期限按工作日计算，已扣除法定节假日）`, `Due ${fmtDate(due)} (working days, public holidays excluded)`)}>
    ${fmtDate(due)} · ${text}</span>`;
}

/** Whether the caller's role has a step to take now (lists carry no `allowed_actions`: the
 * workflow's table in steps.js decides, as the server's does). */
function yours(app, role) {
  return stepsFor({ ...app, allowed_actions: undefined }, role).some((s) => !s.blocked && s.action !== 'update_category');
}

function List({ params, me }) {
  const [state, setState] = useState(params?.query?.state ?? '');
  const [overdue, setOverdue] = useState(params?.query?.overdue === 'true');
  return html`<div class="stack" data-screen="applications">
    <${PageHead} title=${t('救助申请', 'Applications')} />
    <div class="filters">
      <${Field} label=${t('环节', 'Step')}><${EnumSelect} kind="application_state" values=${STATES} name="state" value=${state} onChange=${setState} placeholder=${t('全部', 'All')} /><//>
      <label class="wf-check"><input type="checkbox" name="overdue" checked=${overdue} onChange=${(e) => setOverdue(e.currentTarget.checked)} />${t('只看逾期', 'Overdue only')}</label>
    </div>
    <${PagedTable} path="/applications" params=${{ state: state || null, overdue: overdue ? true : null }} limit=${50}
      empty=${t('没有符合条件的申请', 'No applications')} onRow=${(a) => go(`/applications/${a.id}`)}
      rowClass=${(a) => (a.overdue ? 'is-overdue' : '')}
      columns=${[
        { key: 'household', title: t('申请家庭', 'Household'), render: (a) => html`<span data-application=${a.id}><${HouseholdName} id=${a.household_id} link=${false} /></span>` },
        { key: 'categories', title: t('申请类别', 'Categories'), render: (a) => a.categories.map((c) => label('category', c.category)).join(t('、', ', ')) },
        { key: 'state', title: t('当前环节', 'Step'), render: (a) => html`<${EnumBadge} kind="application_state" value=${a.state} />` },
        { key: 'step', title: t('本环节期限', 'Step limit'), render: (a) => html`<${Clock} due=${a.step_due} late=${a.overdue && a.step_due ? todayShanghai() > a.step_due : undefined} />` },
        { key: 'total', title: t('办结期限', 'Decision limit'), render: (a) => (UNDECIDED.includes(a.state) ? html`<${Clock} due=${a.total_due} />` : html`<span class="muted">—</span>`) },
        { key: 'overdue', title: t('逾期', 'Overdue'), render: (a) => (a.overdue ? html`<${Badge} tone="bad">${t('逾期', 'Overdue')}<//>` : '') },
        { key: 'yours', title: t('待办', 'To do'), render: (a) => (yours(a, me.role) ? html`<${Badge} tone="info">${t('待您办理', 'Yours')}<//>` : '') },
        { key: 'submitted', title: t('提交时间', 'Submitted'), class: 'nowrap', render: (a) => fmtDateTime(a.submitted_at) },
      ]} />
  </div>`;
}

function Progress({ app }) {
  const at = PATH.indexOf(app.state === 'democratic_review' ? 'public_notice' : app.state === 'gradual_exit' || app.state === 'closed' ? 'active' : app.state);
  const off = ['refused', 'returned'].includes(app.state);
  return html`<div class="wf-progress" aria-label=${t('办理进度', 'Progress')}>
    ${PATH.map((s, i) => html`<span class=${!off && i < at ? 'is-done' : !off && i === at ? 'is-now' : ''}>${label('application_state', s)}</span>`)}
  </div>`;
}

/** The public notice as posted in the community: who, what, from when to when, how to object. */
function Notice({ app, house }) {
  if (!app.notice_ends_on) return null;
  const started = [...app.timeline].reverse().find((e) => e.action === 'start_notice');
  const from = started ? fmtDate(started.at) : addDays(app.notice_ends_on, -7);
  const over = todayShanghai() > app.notice_ends_on;
  const head = house?.members?.find((m) => m.id === house.head_member_id)?.name ?? house?.head_name ?? house?.members?.[0]?.name ?? '—';
  return html`<section class="wf-notice" data-testid="public-notice">
    <h3>${t('社会救助审核确认公示', 'Public notice of an assistance application')}</h3>
    <p>${t('申请人（户主）：', 'Applicant (head): ')}${head}　${t('家庭人口：', 'Members: ')}${house?.members?.length ?? '—'}</p>
    <p>${t('住址：', 'Address: ')}${house?.address ?? '—'}</p>
    <p>${t('申请类别：', 'Categories: ')}${app.categories.map((c) => label('category', c.category)).join(t('、', ', '))}</p>
    <p>${t('公示期：', 'Notice period: ')}${from} ${t('至', 'to')} ${fmtDate(app.notice_ends_on)}${t('（7 天）', ' (7 days)')}
      <${Badge} tone=${over ? 'ok' : 'warn'}>${over ? t('已期满', 'ended') : t('公示中', 'running')}<//></p>
    <p>${t('异议：', 'Objections: ')}${app.objections}</p>
    ${started?.public_note && html`<p>${started.public_note}</p>`}
    <p class="muted">${t('对公示内容有异议的，请在公示期内向社区居委会或街道民政办反映。', 'Objections may be raised with the community or the street office during the notice.')}</p>
  </section>`;
}

function Timeline({ app, users }) {
  return html`<ol class="timeline" data-testid="timeline">
    ${app.timeline.map((e) => html`<li key=${e.seq} data-action=${e.action}>
      <div class="row"><strong>${e.action === 'submit' ? t('提交申请', 'Submitted') : label('action', e.action)}</strong>
        ${e.from && e.from !== e.to ? html`<span class="muted">${label('application_state', e.from)} → ${label('application_state', e.to)}</span>` : null}
        <span class="grow"></span><span class="muted nowrap">${fmtDateTime(e.at)}</span></div>
      <div class="wf-timeline-note">${e.actor_role ? label('role', e.actor_role) : ''}${e.actor_id ? ` · ${userName(users, e.actor_id)}` : ''}</div>
      ${e.note && html`<div>${t('内部说明：', 'Internal note: ')}${e.note}</div>`}
      ${e.public_note && html`<div class="wf-timeline-note">${t('告知家庭：', 'Told to the family: ')}${half(e.public_note) === e.public_note ? e.public_note : half(e.public_note)}</div>`}
    </li>`)}
  </ol>`;
}

/** The home visits of the household that may be the investigation: not rejected or superseded,
 * with the worker and the other staff present (two different people are needed). */
function useInvestigationVisits(app, users, wanted) {
  return useAsync(async () => {
    if (!wanted) return [];
    const page = await get('/visits', { household_id: app.household_id, limit: 100 });
    return page.items
      .filter((v) => !['rejected', 'superseded'].includes(v.review_state))
      .map((v) => {
        const staff = [...new Set([v.worker_id, ...v.staff])];
        return { visit: v, staff, enough: staff.length >= 2 };
      })
      .reverse();
  }, [app.household_id, wanted]);
}

function StepForm({ step, app, users, onDone, onCancel }) {
  const { action, fields, note_required: noteRequired } = step;
  const [note, setNote] = useState('');
  const [publicNote, setPublicNote] = useState('');
  const [passed, setPassed] = useState('true');
  const [reference, setReference] = useState('');
  const [visitId, setVisitId] = useState('');
  const [months, setMonths] = useState('6');
  const [category, setCategory] = useState('');
  const [categoryStatus, setCategoryStatus] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const visits = useInvestigationVisits(app, users, fields.includes('visit_id'));
  useEffect(() => {
    const first = visits.data?.find((x) => x.enough);
    if (first && !visitId) setVisitId(first.visit.id);
  }, [visits.data]);
  const chosenVisit = visits.data?.find((x) => x.visit.id === visitId);
  const others = app.categories.filter((c) => c.department !== 'civil_affairs');
  const ready = (!noteRequired || note.trim())
    && (!fields.includes('data_check') || reference.trim())
    && (!fields.includes('visit_id') || chosenVisit?.enough)
    && (!fields.includes('category') || (category && categoryStatus));
  const submit = async () => {
    setBusy(true);
    setError(null);
    const body = { action, expected_version: app.version };
    if (note.trim()) body.note = note.trim();
    if (publicNote.trim()) body.public_note = publicNote.trim();
    if (fields.includes('data_check')) body.data_check = { passed: passed === 'true', reference: reference.trim() };
    if (fields.includes('visit_id')) body.visit_id = visitId;
    if (fields.includes('exit_months')) body.exit_months = Number(months);
    if (fields.includes('category')) { body.category = category; body.category_status = categoryStatus; }
    try {
      const next = await post(`/applications/${app.id}/transition`, body);
      toast(t(`已办理：${label('action', action)}`, `Done: ${label('action', action)}`));
      onDone(next);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  const noteLabel = action === 'refuse' ? t('不予批准的理由（书面告知家庭）', 'Reason for the refusal (written to the family)')
    : action === 'return' ? t('退回原因（须补充的材料）', 'Why it is returned (what is missing)')
    : action === 'record_objection' ? t('异议内容', 'The objection')
    : action === 'democratic_review' ? t('民主评议情况', 'The democratic review')
    : action === 'start_exit' ? t('渐退原因', 'Why the exit')
    : action === 'close' ? t('终止原因', 'Why it is closed')
    : t('内部说明', 'Internal note');
  const today = todayShanghai();
  return html`<form class="stack" onSubmit=${(e) => { e.preventDefault(); if (ready) submit(); }} data-step-form=${action}>
    ${fields.includes('data_check') && html`<div class="grid-2">
      <${Field} label=${t('核对结果', 'Result')} required><${Select} name="data_check_passed" value=${passed} onChange=${setPassed}
        options=${[['true', t('与申报相符', 'Matches the declaration')], ['false', t('与申报不符', 'Does not match')]]} /><//>
      <${Field} label=${t('核对编号（核对中心）', 'Reference at the checking centre')} required><${Input} name="data_check_reference" value=${reference} onInput=${setReference} maxlength="100" /><//>
    </div>`}
    ${fields.includes('visit_id') && html`<${Field} label=${t('入户调查走访（须两名工作人员在场）', 'The home visit (two staff present)')} required>
      ${visits.loading ? html`<span class="muted">${t('加载走访…', 'Loading visits…')}</span>` : visits.error ? html`<${ErrorLine} error=${visits.error} />`
        : visits.data.length === 0 ? html`<p class="muted">${t('该户还没有走访记录：请先安排两名工作人员入户调查。', 'No visit of this household yet: send two staff first.')}</p>`
        : html`<${Select} name="visit_id" value=${visitId} onChange=${setVisitId} placeholder=${t('选择走访', 'Choose a visit')}
            options=${visits.data.map((x) => [x.visit.id, `${fmtDateTime(x.visit.started_at)} · ${x.staff.map((s) => userName(users, s)).join(t('、', ', '))}${x.enough ? '' : t('（不足两人）', ' (fewer than two)')}`])} />`}
    <//>
    ${chosenVisit && html`<div class="row"><span>${t('调查人员：', 'Investigators: ')}</span><span class="wf-staff" data-testid="investigators">
      ${chosenVisit.staff.map((s) => html`<${Badge} tone=${chosenVisit.enough ? 'ok' : 'bad'}>${userName(users, s)}<//>`)}</span>
      ${!chosenVisit.enough && html`<span class="error-line">${t('入户调查须至少两名工作人员', 'A dibao investigation needs at least two staff')}</span>`}
      <a href=${`#/visits/${chosenVisit.visit.id}`}>${t('查看走访', 'Open the visit')}</a></div>`}`}
    ${fields.includes('notice') && html`<p data-testid="notice-dates">${t('公示期：', 'Notice period: ')}${today} ${t('至', 'to')} ${addDays(today, 7)}
      ${t('（7 天，在社区张榜公示；期满无异议后报区民政局审批）', '(7 days in the community; then the district decides if nobody objects)')}</p>`}
    ${fields.includes('exit_months') && html`<${Field} label=${t('渐退期（月）', 'Gradual exit (months)')} required>
      <${Select} name="exit_months" value=${months} onChange=${setMonths} options=${[1, 2, 3, 4, 5, 6].map((m) => [String(m), t(`${m} 个月`, `${m} month${m > 1 ? 's' : ''}`)])} /><//>`}
    ${fields.includes('category') && html`<div class="grid-2">
      <${Field} label=${t('类别', 'Category')} required><${Select} name="category" value=${category} onChange=${setCategory} placeholder=""
        options=${others.map((c) => [c.category, `${label('category', c.category)}（${label('department', c.department)}）`])} /><//>
      <${Field} label=${t('状态', 'Status')} required><${EnumSelect} kind="category_status" values=${['in_progress', 'referred', 'granted', 'declined', 'closed']}
        name="category_status" value=${categoryStatus} onChange=${setCategoryStatus} placeholder="" /><//>
    </div>`}
    <${Field} label=${noteRequired ? noteLabel : `${noteLabel}${t('（选填）', ' (optional)')}`} required=${noteRequired}>
      <${TextArea} name="note" value=${note} onInput=${setNote} rows=${2} />
    <//>
    <${Field} label=${t('告知家庭的话（选填，家庭可见）', 'What the family is told (optional, the family sees it)')}>
      <${Input} name="public_note" value=${publicNote} onInput=${setPublicNote} />
    <//>
    <${ErrorLine} error=${error} />
    <div class="row">
      <${Button} kind=${['refuse', 'return', 'close'].includes(action) ? 'danger' : 'primary'} type="submit" busy=${busy} disabled=${!ready}
        data-action="confirm-step">${t('确认：', 'Confirm: ')}${label('action', action)}<//>
      <${Button} onClick=${onCancel}>${t('取消', 'Cancel')}<//>
    </div>
  </form>`;
}

/** Which roles the step waits for, when the caller has none to take. */
function waitingFor(app) {
  const plain = { ...app, allowed_actions: undefined };
  return ['coordinator', 'street_officer', 'district_officer']
    .filter((role) => stepsFor(plain, role).some((s) => s.action !== 'update_category'));
}

function Steps({ app, me, users, onDone }) {
  const [open, setOpen] = useState(null);
  const steps = stepsFor(app, me.role);
  if (!steps.length) {
    const roles = waitingFor(app);
    return html`<p class="muted" data-testid="no-steps">${t('当前环节没有需要您办理的步骤。', 'Nothing here is yours to do at this step.')}
      ${roles.length ? t(`等待${roles.map((r) => label('role', r)).join('或')}办理。`, ` Waiting for: ${roles.map((r) => label('role', r)).join(' or ')}.`) : ''}</p>`;
  }
  return html`<div class="wf-steps" data-testid="steps">
    ${steps.map((s) => html`<div class=${`wf-step ${open === s.action ? 'is-open' : ''}`} data-step=${s.action}>
      <div class="wf-step-head"><strong>${label('action', s.action)}</strong>
        ${open !== s.action && html`<${Button} kind=${['refuse', 'return', 'close'].includes(s.action) ? 'plain' : 'primary'} disabled=${Boolean(s.blocked)}
          onClick=${() => setOpen(s.action)} data-action=${s.action}>${t('办理', 'Take this step')}<//>`}</div>
      ${s.blocked && html`<div class="wf-step-blocked">${t(s.blocked[0], s.blocked[1])}</div>`}
      ${open === s.action && html`<${StepForm} step=${s} app=${app} users=${users} onCancel=${() => setOpen(null)}
        onDone=${(next) => { setOpen(null); onDone(next); }} />`}
    </div>`)}
  </div>`;
}

function Detail({ id, me }) {
  const [app, setApp] = useState(null);
  const state = useAsync(async () => {
    const a = await get(`/applications/${id}`);
    const [house, users] = await Promise.all([household(a.household_id).catch(() => null), usersById(me)]);
    return { a, house, users };
  }, [id]);
  useEffect(() => { if (state.data) setApp(state.data.a); }, [state.data]);
  return html`<${AsyncItem} state=${state} back="#/applications" what=${['申请', 'application']}>${({ house, users }) => {
    const a = app ?? state.data.a;
    return html`<div class="stack" data-screen="application" data-application=${a.id} data-state=${a.state} data-version=${a.version}>
      <${PageHead} title=${html`${t('救助申请', 'Application')} · ${house ? householdLine(house) : a.household_id.slice(-6)}`}>
        <${Button} onClick=${() => go('/applications')}>${t('返回列表', 'Back to the list')}<//>
      <//>
      <div class="row">
        <span data-testid="application-state"><${EnumBadge} kind="application_state" value=${a.state} /></span>
        ${a.overdue && html`<${Badge} tone="bad">${t('逾期', 'Overdue')}<//>`}
        ${a.delegated && html`<${Badge} tone="info">${t('街道受委托审批', 'Approval delegated to the street')}<//>`}
      </div>
      <${Progress} app=${a} />
      <div class="wf-app">
        <div class="stack">
          <${Card} title=${t('基本情况', 'Particulars')}>
            <${Facts} items=${[
              [t('申请家庭', 'Household'), html`<${HouseholdName} id=${a.household_id} />`],
              [t('提交时间', 'Submitted'), fmtDateTime(a.submitted_at)],
              [t('受理时间', 'Accepted'), a.accepted_at ? fmtDateTime(a.accepted_at) : '—'],
              [t('本环节期限', 'Step limit'), html`<${Clock} due=${a.step_due} />`],
              [t('办结期限', 'Decision limit'), UNDECIDED.includes(a.state) ? html`<${Clock} due=${a.total_due} />` : (a.total_due ? fmtDate(a.total_due) : '—')],
              [t('信息核对', 'Data check'), a.data_check ? `${a.data_check.passed ? t('相符', 'matches') : t('不符', 'does not match')} · ${a.data_check.reference}` : t('未记录', 'not recorded')],
              [t('入户调查', 'Home visit'), a.visit_id ? html`<a href=${`#/visits/${a.visit_id}`}>${t('查看走访', 'Open the visit')}</a>` : '—'],
              [t('公示截止', 'Notice ends'), a.notice_ends_on ? fmtDate(a.notice_ends_on) : '—'],
              [t('公示异议', 'Objections'), String(a.objections)],
              a.decided_at && [t('决定时间', 'Decided'), fmtDateTime(a.decided_at)],
              a.exit_until && [t('渐退至', 'Exit until'), fmtDate(a.exit_until)],
              a.finding_id && [t('来源', 'From'), html`<a href="#/findings">${t('主动发现', 'A finding')}</a>`],
            ]} />
          <//>
          <${Card} title=${t('申请类别', 'Categories')}>
            <table class="table"><thead><tr><th>${t('类别', 'Category')}</th><th>${t('承办部门', 'Department')}</th><th>${t('状态', 'Status')}</th><th>${t('说明', 'Note')}</th></tr></thead>
              <tbody>${a.categories.map((c) => html`<tr><td>${label('category', c.category)}</td><td>${label('department', c.department)}</td>
                <td>${label('category_status', c.status)}</td><td>${c.note ?? ''}</td></tr>`)}</tbody></table>
          <//>
          <${Notice} app=${a} house=${house} />
          <${Card} title=${t('办理经过', 'Timeline')}><${Timeline} app=${a} users=${users} /><//>
        </div>
        <${Card} title=${t('可办理的步骤', 'Steps you may take')}>
          <${Steps} key=${a.version} app=${a} me=${me} users=${users} onDone=${setApp} />
        <//>
      </div>
    </div>`;
  }}<//>`;
}

export default function Applications({ params, me }) {
  useWorkflowStyles();
  return params?.id ? html`<${Detail} key=${params.id} id=${params.id} me=${me} />` : html`<${List} params=${params} me=${me} />`;
}
