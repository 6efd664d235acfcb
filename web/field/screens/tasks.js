// Today's tasks: overdue first, then by due date, then by distance from where the phone last was.
// Read from IndexedDB at once; pull the list down (or press 同步) to sync and send.

import { html, useEffect, useRef, useState } from '../../shared/html.js';
import { t, label } from '../../shared/i18n.js';
import { dueWords, overdueDays } from '../../shared/time.js';
import { tasks as allTasks, households, visits, drafts } from '../store.js';
import { dataTick, refresh, syncState, go } from '../state.js';
import { outboxTick } from '../outbox.js';
import { lastFix, distanceM, fmtDistance } from '../geo.js';

export function headName(h) {
  if (!h) return '';
  const head = h.members?.find((m) => m.id === h.head_member_id) ?? h.members?.[0];
  return head?.name ?? '';
}

/** Overdue first (most overdue first), then the earliest due date, then the nearest. */
export function sortTasks(list, houses, here) {
  const dist = (task) => distanceM(here, houses.get(task.household_id)?.location) ?? Infinity;
  return [...list].sort((a, b) => {
    const oa = a.overdue || overdueDays(a.due_date) > 0;
    const ob = b.overdue || overdueDays(b.due_date) > 0;
    if (oa !== ob) return oa ? -1 : 1;
    if (a.due_date !== b.due_date) return a.due_date < b.due_date ? -1 : 1;
    if (a.priority !== b.priority) return b.priority - a.priority;
    return dist(a) - dist(b);
  });
}

function usePull(onPull) {
  const start = useRef(null);
  const [pull, setPull] = useState(0);
  const handlers = {
    onTouchStart: (e) => { start.current = window.scrollY <= 0 ? e.touches[0].clientY : null; },
    onTouchMove: (e) => {
      if (start.current === null) return;
      setPull(Math.max(0, Math.min(120, e.touches[0].clientY - start.current)));
    },
    onTouchEnd: () => {
      if (pull >= 70) onPull();
      start.current = null;
      setPull(0);
    },
  };
  return [pull, handlers];
}

export function TasksScreen() {
  const [data, setData] = useState(null);
  const tick = dataTick.value + outboxTick.value;
  useEffect(() => {
    let live = true;
    (async () => {
      const [ts, hs, vs, ds] = await Promise.all([allTasks(), households(), visits(), drafts()]);
      if (!live) return;
      setData({ ts, houses: new Map(hs.map((h) => [h.id, h])), done: new Map(vs.map((v) => [v.body.task_id, v])), drafts: new Set(ds.map((d) => d.task_id)) });
    })();
    return () => { live = false; };
  }, [tick]);
  const [pull, handlers] = usePull(() => refresh());
  useEffect(() => {
    // For the benchmark (bench/web/field_open.mjs): when the day's tasks are first on screen.
    if (data && !performance.getEntriesByName('field:tasks').length) performance.mark('field:tasks', { detail: data.ts.length });
  }, [data]);
  if (!data) return html`<p class="empty">${t('正在读取…', 'Loading…')}</p>`;
  const here = lastFix.value;
  const open = data.ts.filter((x) => !data.done.has(x.id) || data.done.get(x.id).state === 'needs_attention');
  const sorted = sortTasks(open, data.houses, here);
  const waiting = data.ts.length - open.length;
  const busy = syncState.value.state === 'syncing';
  return html`<section class="tasks" ...${handlers}>
    <div class="pull" style=${{ height: `${pull / 2}px` }}>${pull >= 70 ? t('松开同步', 'Release to sync') : pull ? t('下拉同步', 'Pull to sync') : ''}</div>
    <div class="row between">
      <h2>${t('我的任务', 'My tasks')} <small data-testid="task-count">${sorted.length}</small></h2>
      <button class="secondary" type="button" data-testid="sync" disabled=${busy} onClick=${() => refresh()}>${busy ? t('同步中…', 'Syncing…') : t('同步', 'Sync')}</button>
    </div>
    ${waiting ? html`<p class="hint">${t(`另有 ${waiting} 项已走访，等待发送或审核`, `${waiting} more visited, waiting to be sent or reviewed`)}</p>` : null}
    ${sorted.length === 0 ? html`<p class="empty">${t('暂无任务。联网后下拉同步。', 'No tasks. Pull down to sync when online.')}</p>` : null}
    <ul class="cards" data-testid="task-list">
      ${sorted.map((x) => {
        const h = data.houses.get(x.household_id);
        const late = x.overdue || overdueDays(x.due_date) > 0;
        const d = distanceM(here, h?.location);
        return html`<li key=${x.id}>
          <a class=${`card task ${late ? 'late' : ''}`} href=${`#/task/${x.id}`} data-testid="task">
            <div class="row between">
              <strong class="addr">${h?.address ?? t('（住户信息未同步）', '(household not synced)')}</strong>
              <span class=${`chip ${x.kind}`}>${label('task_kind', x.kind)}</span>
            </div>
            <div class="row between meta">
              <span>${[headName(h), h ? label('household_status', h.status) : ''].filter(Boolean).join(' · ')}</span>
              <span class=${late ? 'due late' : 'due'}>${dueWords(x.due_date)}</span>
            </div>
            <div class="row between meta">
              <span>${x.note ? x.note.split(' / ')[0] : ''}</span>
              <span>${data.drafts.has(x.id) ? html`<span class="chip draft">${t('草稿', 'Draft')}</span> ` : null}${d !== null ? fmtDistance(d) : ''}</span>
            </div>
          </a>
        </li>`;
      })}
    </ul>
  </section>`;
}

export function goTask(id) { go(`task/${id}`); }
