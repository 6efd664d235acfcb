// Households (一户一档): search by a member's name prefix, an ID number or a grid; the card with its
// members (ID numbers masked), status history, tasks, visits, findings and applications; and the audited
// reveal of full ID numbers, which asks for a reason that the audit log keeps.

import { html, useState } from '../../shared/html.js';
import { get, post } from '../../shared/api.js';
import { t, label } from '../../shared/i18n.js';
import { fmtDate, fmtDateTime, dueWords } from '../../shared/time.js';
import {
  Card, PageHead, PagedTable, EnumBadge, Badge, Button, Field, Input, EnumSelect, UnitPicker, useAsync, Async, Facts, Empty,
  FormDialog, toast, go, Tabs, UnitName,
} from '../ui.js';

const STATUSES = ['dibao', 'tekun', 'edge', 'rigid_expense', 'relapse_monitoring', 'none'];

/** GB 11643: 17 digits and a check character (digit or X) whose weighted sum matches. */
export function validIdNumber(s) {
  const v = s.trim().toUpperCase();
  if (!/^\d{17}[\dX]$/.test(v)) return false;
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = w.reduce((acc, wi, i) => acc + wi * Number(v[i]), 0);
  return '10X98765432'[sum % 11] === v[17];
}

export default function Households({ params, me }) {
  if (params.id) return html`<${HouseholdCard} id=${params.id} me=${me} />`;
  return html`<${HouseholdSearch} params=${params} me=${me} />`;
}

function HouseholdSearch({ params, me }) {
  const q = params.query ?? {};
  const [name, setName] = useState(q.name ?? '');
  const [idNumber, setIdNumber] = useState(q.id_number ?? '');
  const [status, setStatus] = useState(q.status ?? '');
  const [grid, setGrid] = useState(q.grid ?? null);
  const [idError, setIdError] = useState(null);
  const search = (e) => {
    e?.preventDefault();
    if (idNumber.trim() && !validIdNumber(idNumber)) {
      setIdError(t('身份证号格式或校验位不对', 'Not a valid ID number (format or check digit)'));
      return;
    }
    setIdError(null);
    const s = new URLSearchParams();
    if (name.trim()) s.set('name', name.trim());
    if (idNumber.trim()) s.set('id_number', idNumber.trim().toUpperCase());
    if (status) s.set('status', status);
    if (grid) s.set('grid', String(grid));
    go(`/households${s.toString() ? `?${s}` : ''}`);
  };
  const filter = {
    name: q.name, id_number: q.id_number, status: q.status, grid_id: q.grid,
  };
  return html`<div>
    <${PageHead} title=${t('住户档案', 'Households')} />
    <form class="filters card card-body" onSubmit=${search} role="search">
      <${Field} label=${t('成员姓名（前缀）', 'Member name (prefix)')}>
        <${Input} name="name" value=${name} onInput=${setName} placeholder=${t('如：王', 'e.g. 王')} />
      <//>
      <${Field} label=${t('身份证号（完整）', 'ID number (full)')} error=${idError}>
        <${Input} name="id_number" value=${idNumber} onInput=${setIdNumber} maxlength="18" class="input mono" />
      <//>
      <${Field} label=${t('救助状态', 'Status')}>
        <${EnumSelect} kind="household_status" values=${STATUSES} value=${status} onChange=${setStatus} placeholder=${t('全部', 'All')} />
      <//>
      <div class="field"><label>${t('网格', 'Grid')}</label>
        <${UnitPicker} rootId=${me.org_unit_id} value=${grid} onChange=${(u) => setGrid(u.kind === 'grid' ? u.id : null)} />
      </div>
      <div class="field"><${Button} kind="primary" type="submit">${t('查询', 'Search')}<//></div>
    </form>
    <${PagedTable} path="/households" params=${filter} limit=${30}
      empty=${t('没有符合条件的住户', 'No household matches')}
      onRow=${(h) => go(`/households/${h.id}`)}
      columns=${[
        { title: t('户主', 'Head'), render: (h) => h.head_name ?? '—' },
        { title: t('地址', 'Address'), key: 'address' },
        { title: t('网格', 'Grid'), render: (h) => html`<span class="mono">${h.grid_code}</span>` },
        { title: t('人数', 'Members'), class: 'num', render: (h) => h.member_count },
        { title: t('状态', 'Status'), render: (h) => html`<${EnumBadge} kind="household_status" value=${h.status} />` },
        { title: t('标签', 'Tags'), render: (h) => h.tags.map((tag) => html`<${Badge}>${tag}<//> `) },
      ]} />
  </div>`;
}

function fen(v) {
  return v ? (v / 100).toLocaleString('zh-CN', { maximumFractionDigits: 0 }) : '0';
}

function totalIncome(inc) {
  if (!inc) return 0;
  return Object.values(inc).reduce((s, v) => s + (Number(v) || 0), 0);
}

function HouseholdCard({ id, me }) {
  const hh = useAsync(() => get(`/households/${id}`), [id]);
  const [revealed, setRevealed] = useState({});
  const [asking, setAsking] = useState(null); // null | {member}
  const [tab, setTab] = useState('visits');
  const reveal = async ({ reason }, member) => {
    const body = { reason: reason.trim() };
    if (member) body.member_id = member.id;
    const r = await post(`/households/${id}/reveal`, body);
    const next = { ...revealed };
    for (const m of r.members) next[m.member_id] = m.id_number;
    setRevealed(next);
    toast(t('已显示完整身份证号，本次查看已记入审计日志', 'Full ID numbers shown; this was recorded in the audit log'), 'info');
  };
  return html`<${Async} state=${hh}>${(h) => html`<div>
    <${PageHead} title=${html`${t('住户档案', 'Household')} · ${h.address}`}>
      <a href="#/households">${t('← 返回查询', '← Back to search')}</a>
    <//>
    <${Card} title=${t('基本信息', 'Household')}>
      <${Facts} items=${[
        [t('地址', 'Address'), h.address],
        [t('网格', 'Grid'), html`<${UnitName} id=${h.grid_id} /> <span class="mono muted">${h.grid_code}</span>${h.grid_overridden ? html` <${Badge} tone="info">${t('人工指定', 'set by hand')}<//>` : ''}`],
        [t('救助状态', 'Status'), html`<${EnumBadge} kind="household_status" value=${h.status} />`],
        [t('标签', 'Tags'), h.tags.length ? h.tags.join('、') : '—'],
        [t('位置', 'Location'), h.location ? html`<span class="mono">${h.location.lat.toFixed(5)}, ${h.location.lon.toFixed(5)}</span>` : '—'],
        [t('外部编号', 'External id'), h.external_id],
        [t('更新于', 'Updated'), fmtDateTime(h.updated_at)],
        [t('备注', 'Notes'), h.notes || '—'],
      ]} />
    <//>
    <${Card} title=${t('家庭成员', 'Members')} actions=${html`<${Button} onClick=${() => setAsking({ member: null })} data-testid="reveal-all">${t('查看完整身份证号', 'Show full ID numbers')}<//>`}>
      <div class="table-wrap"><table class="table compact member-list" data-testid="members">
        <thead><tr><th>${t('姓名', 'Name')}</th><th>${t('关系', 'Relation')}</th><th>${t('身份证号', 'ID number')}</th><th>${t('出生日期', 'Born')}</th>
          <th>${t('性别', 'Gender')}</th><th>${t('健康', 'Health')}</th><th>${t('残疾', 'Disability')}</th><th>${t('就业', 'Work')}</th><th>${t('就学', 'School')}</th>
          <th class="num">${t('年收入（元）', 'Income (¥/yr)')}</th><th>${t('电话', 'Phone')}</th><th></th></tr></thead>
        <tbody>${h.members.map((m) => html`<tr key=${m.id}>
          <td>${m.name}${m.id === h.head_member_id ? html` <${Badge} tone="info">${t('户主', 'head')}<//>` : ''}</td>
          <td>${label('relation', m.relation)}</td>
          <td class="mono">${revealed[m.id] ? html`<span class="revealed" data-testid="revealed-id">${revealed[m.id]}</span>` : m.id_number_masked}</td>
          <td class="nowrap">${fmtDate(m.birth_date)}</td>
          <td>${label('gender', m.gender)}</td>
          <td>${label('health', m.health)}</td>
          <td>${m.disability_type ? `${label('disability_type', m.disability_type)} ${m.disability_level ?? ''}${t('级', '')}` : '—'}</td>
          <td>${label('work_status', m.work_status)}</td>
          <td>${label('student_status', m.student_status)}</td>
          <td class="num">${fen(totalIncome(m.annual_income))}</td>
          <td class="mono">${m.phone_masked ?? '—'}</td>
          <td>${!revealed[m.id] && html`<${Button} kind="link" onClick=${() => setAsking({ member: m })}>${t('查看', 'Show')}<//>`}</td>
        </tr>`)}</tbody>
      </table></div>
    <//>
    <${Card} title=${t('救助状态历史', 'Status history')}>
      ${h.status_history.length ? html`<ul class="timeline">${[...h.status_history].reverse().map((p) => html`<li>
        <${EnumBadge} kind="household_status" value=${p.status} /> ${fmtDate(p.from)} – ${p.to ? fmtDate(p.to) : t('至今', 'now')}
        ${p.note && html`<span class="muted"> · ${p.note}</span>`}</li>`)}</ul>` : html`<${Empty} />`}
    <//>
    <${Card}>
      <${Tabs} value=${tab} onChange=${setTab} tabs=${[
        ['visits', t('走访记录', 'Visits')], ['tasks', t('任务', 'Tasks')], ['findings', t('主动发现', 'Findings')], ['applications', t('救助申请', 'Applications')],
      ]} />
      ${tab === 'visits' && html`<${PagedTable} path="/visits" params=${{ household_id: id }} limit=${20} onRow=${(v) => go(`/visits/${v.id}`)}
        rowClass=${(v) => (v.flags.length ? 'is-flagged' : '')}
        columns=${[
          { title: t('开始时间', 'Started'), render: (v) => fmtDateTime(v.started_at) },
          { title: t('表单', 'Form'), render: (v) => `${v.form_key} v${v.form_version}` },
          { title: t('审核', 'Review'), render: (v) => html`<${EnumBadge} kind="review_state" value=${v.review_state} />` },
          { title: t('核验提示', 'Flags'), render: (v) => (v.flags.length ? v.flags.map((f) => html`<${EnumBadge} kind="flag" value=${f.code} /> `) : '—') },
          { title: t('照片', 'Photos'), class: 'num', render: (v) => v.photo_ids.length },
        ]} />`}
      ${tab === 'tasks' && html`<${PagedTable} path="/tasks" params=${{ household_id: id }} limit=${20}
        rowClass=${(x) => (x.overdue ? 'is-overdue' : '')}
        columns=${[
          { title: t('类型', 'Kind'), render: (x) => label('task_kind', x.kind) },
          { title: t('状态', 'State'), render: (x) => html`<${EnumBadge} kind="task_state" value=${x.state} />` },
          { title: t('截止', 'Due'), render: (x) => html`${fmtDate(x.due_date)}${x.overdue ? html` <${Badge} tone="bad">${dueWords(x.due_date)}<//>` : ''}` },
          { title: t('备注', 'Note'), key: 'note' },
        ]} />`}
      ${tab === 'findings' && html`<${PagedTable} path="/findings" params=${{ household_id: id }} limit=${20} onRow=${(f) => go(`/findings?id=${f.id}`)}
        columns=${[
          { title: t('类型', 'Type'), render: (f) => label('finding_type', f.type) },
          { title: t('来源', 'Source'), render: (f) => label('finding_source', f.source) },
          { title: t('状态', 'State'), render: (f) => html`<${EnumBadge} kind="finding_state" value=${f.state} />` },
          { title: t('发现于', 'Found'), render: (f) => fmtDateTime(f.created_at) },
        ]} />`}
      ${tab === 'applications' && html`<${PagedTable} path="/applications" params=${{ household_id: id }} limit=${20} onRow=${(a) => go(`/applications/${a.id}`)}
        rowClass=${(a) => (a.overdue ? 'is-overdue' : '')}
        columns=${[
          { title: t('类别', 'Categories'), render: (a) => a.categories.map((c) => label('category', c.category ?? c)).join('、') },
          { title: t('环节', 'State'), render: (a) => html`<${EnumBadge} kind="application_state" value=${a.state} />${a.overdue ? html` <${Badge} tone="bad">${t('超时', 'overdue')}<//>` : ''}` },
          { title: t('提交于', 'Submitted'), render: (a) => fmtDateTime(a.submitted_at) },
        ]} />`}
    <//>
    ${asking && html`<${FormDialog}
      title=${asking.member ? t(`查看 ${asking.member.name} 的完整身份证号`, `Show ${asking.member.name}'s full ID number`) : t('查看全部成员的完整身份证号', 'Show every member\'s full ID number')}
      fields=${[{ name: 'reason', label: t('查看理由（将记入审计日志）', 'Reason (kept in the audit log)'), kind: 'textarea', required: true,
        hint: t('例如：办理低保申请，核对户籍信息', 'e.g. checking the residence record for a dibao application') }]}
      submitText=${t('确认查看', 'Show')}
      onSubmit=${(v) => reveal(v, asking.member)}
      onClose=${() => setAsking(null)} />`}
  </div>`}<//>`;
}
