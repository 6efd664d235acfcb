// The household card: what the phone holds of one task's household, numbers masked by the server.

import { html, useEffect, useState } from '../../shared/html.js';
import { t, label } from '../../shared/i18n.js';
import { dueWords, fmtDate } from '../../shared/time.js';
import { task as getTask, household as getHousehold, draft as getDraft } from '../store.js';
import { go } from '../state.js';
import { lastFix, distanceM, fmtDistance } from '../geo.js';

function age(birth) {
  if (!birth) return '';
  const [y, m, d] = birth.split('-').map(Number);
  const now = new Date();
  let a = now.getFullYear() - y;
  if (now.getMonth() + 1 < m || (now.getMonth() + 1 === m && now.getDate() < d)) a--;
  return a;
}

export function HouseholdScreen({ taskId }) {
  const [data, setData] = useState(null);
  useEffect(() => {
    (async () => {
      const task = await getTask(taskId);
      const h = task ? await getHousehold(task.household_id) : null;
      setData({ task, h, draft: await getDraft(taskId) });
    })();
  }, [taskId]);
  if (!data) return null;
  const { task, h, draft } = data;
  if (!task) return html`<p class="empty">${t('任务已不在手机上（可能已取消或改派）。', 'This task is no longer on the phone (cancelled or reassigned).')} <a href="#/tasks">${t('返回', 'Back')}</a></p>`;
  const d = distanceM(lastFix.value, h?.location);
  return html`<section class="household" data-testid="household">
    <a class="back" href="#/tasks">‹ ${t('任务', 'Tasks')}</a>
    <h2>${h?.address ?? ''}</h2>
    <p class="meta">${label('task_kind', task.kind)} · ${dueWords(task.due_date)} (${fmtDate(task.due_date)})${d !== null ? ` · ${t('距离', 'distance')} ${fmtDistance(d)}` : ''}</p>
    ${task.note ? html`<p class="note">${task.note}</p>` : null}
    ${h ? html`
      <div class="card">
        <div class="row between"><span>${t('救助状态', 'Status')}</span><strong>${label('household_status', h.status)}</strong></div>
        <div class="row between"><span>${t('网格', 'Grid')}</span><span>${h.grid_code}</span></div>
        ${h.tags?.length ? html`<div class="tags">${h.tags.map((x) => html`<span class="chip">${x}</span>`)}</div>` : null}
      </div>
      <h3>${t('家庭成员', 'Members')} (${h.members.length})</h3>
      <ul class="members">${h.members.map((m) => html`<li class="card">
        <div class="row between"><strong>${m.name}</strong><span>${label('relation', m.relation)} · ${label('gender', m.gender)} · ${age(m.birth_date)}${t('岁', ' y')}</span></div>
        <div class="meta">${t('身份证', 'ID')} ${m.id_number_masked}${m.phone_masked ? ` · ${t('电话', 'Tel')} ${m.phone_masked}` : ''}</div>
        <div class="meta">${label('health', m.health)}${m.disability_type ? ` · ${label('disability_type', m.disability_type)}${t('残疾', ' disability')} ${m.disability_level ?? ''}${t('级', '')}` : ''} · ${label('work_status', m.work_status)}</div>
      </li>`)}</ul>` : html`<p class="empty">${t('住户信息未同步', 'Household not synced')}</p>`}
    <div class="sticky-actions">
      <button class="primary big" type="button" data-testid="start-visit" onClick=${() => go(`visit/${task.id}`)}>
        ${draft ? t('继续走访', 'Continue the visit') : t('开始走访', 'Start the visit')}
      </button>
    </div>
  </section>`;
}
