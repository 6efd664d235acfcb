// Visit review: the queue with flagged visits first; one visit with its answers under the form's
// labels (the fields that applied only), photos as thumbnails opening the display copy, each
// verification flag with its evidence, and the decision (approve, has issues, reject) with a comment.

import { html, useState, useEffect } from '../../shared/html.js';
import { get, post } from '../../shared/api.js';
import { t, label, pick } from '../../shared/i18n.js';
import { fmtDate, fmtDateTime } from '../../shared/time.js';
import {
  Button, EnumBadge, Badge, PageHead, Card, Facts, Field, TextArea, Select, ErrorLine, Loading, ErrorState,
  Empty, Async, useAsync, toast, go,
} from '../ui.js';
import { useWorkflowStyles } from '../workflow/style.js';
import { HouseholdName, household, usersById, userName } from '../workflow/people.js';
import { FlagCard } from '../workflow/evidence.js';
import { AsyncItem } from '../workflow/missing.js';
import { Photo, PhotoViewer } from '../workflow/photos.js';
import { Answers, relevanceCounts } from '../workflow/answers.js';

const REVIEW_STATES = ['pending', 'has_issues', 'approved', 'rejected', 'superseded'];

function FlagBadges({ flags }) {
  if (!flags?.length) return html`<span class="muted">${t('无', 'None')}</span>`;
  return html`<span class="wf-flag-badges">${flags.map((f) => html`<${EnumBadge} kind="flag" value=${f.code} />`)}</span>`;
}

/** The pending queue puts flagged visits first: two cursors, the flagged list read out before
 * the unflagged one. Any other review state is one list. */
function useQueue(reviewState, reloadKey) {
  const [state, setState] = useState({ items: [], loading: true, error: null, cursor: null });
  const load = async (cursor) => {
    setState((s) => ({ ...s, loading: true, error: null }));
    try {
      let at = cursor ?? { phase: reviewState === 'pending' ? 'flagged' : 'all', after: null };
      const items = [];
      // A page is filled across the two phases: the last flagged visits, then the first unflagged.
      while (at && items.length < 50) {
        const params = { review_state: reviewState || null, limit: 50 - items.length, after: at.after };
        if (at.phase === 'flagged') params.flagged = true;
        if (at.phase === 'unflagged') params.flagged = false;
        const page = await get('/visits', params);
        items.push(...page.items);
        if (page.next) at = { phase: at.phase, after: page.next };
        else at = at.phase === 'flagged' ? { phase: 'unflagged', after: null } : null;
      }
      setState((s) => ({ items: cursor ? [...s.items, ...items] : items, loading: false, error: null, cursor: at }));
    } catch (error) {
      setState((s) => ({ ...s, loading: false, error }));
    }
  };
  useEffect(() => { load(null); }, [reviewState, reloadKey]);
  return { ...state, more: () => load(state.cursor), reload: () => load(null) };
}

function Queue({ me }) {
  const [reviewState, setReviewState] = useState('pending');
  const users = useAsync(() => usersById(me), [me.id]);
  const q = useQueue(reviewState, 0);
  return html`<div class="stack" data-screen="visits">
    <${PageHead} title=${t('走访审核', 'Visit review')} />
    <div class="filters">
      <${Field} label=${t('审核状态', 'Review state')}>
        <${Select} name="review_state" value=${reviewState} onChange=${setReviewState} placeholder=${t('全部', 'All')}
          options=${REVIEW_STATES.map((s) => [s, label('review_state', s)])} />
      <//>
      ${reviewState === 'pending' && html`<p class="muted">${t('有核查标记的走访排在前面。', 'Visits with verification flags come first.')}</p>`}
    </div>
    ${q.error ? html`<${ErrorState} error=${q.error} retry=${q.reload} />` : html`
    <div class="table-wrap">
      <table class="table table-click">
        <thead><tr><th>${t('住户', 'Household')}</th><th>${t('网格员', 'Worker')}</th><th>${t('走访时间', 'Visited')}</th>
          <th>${t('核查标记', 'Flags')}</th><th>${t('审核', 'Review')}</th></tr></thead>
        <tbody>${q.items.map((v) => html`<tr key=${v.id} data-visit=${v.id} data-flagged=${v.flags.length > 0 ? 'true' : 'false'} tabindex="0"
            onClick=${() => go(`/visits/${v.id}`)} onKeyDown=${(e) => { if (e.key === 'Enter') go(`/visits/${v.id}`); }}>
          <td><${HouseholdName} id=${v.household_id} link=${false} /></td>
          <td>${userName(users.data, v.worker_id)}</td>
          <td class="nowrap">${fmtDateTime(v.started_at)}</td>
          <td><${FlagBadges} flags=${v.flags} /></td>
          <td><${EnumBadge} kind="review_state" value=${v.review_state} /></td>
        </tr>`)}</tbody>
      </table>
      ${!q.loading && q.items.length === 0 && !q.cursor && html`<${Empty} text=${t('没有待审核的走访', 'No visits waiting')} />`}
      ${q.loading && html`<${Loading} />`}
      ${q.cursor && !q.loading && html`<div class="pager"><${Button} onClick=${q.more}>${t('加载更多', 'Load more')}<//></div>`}
    </div>`}
  </div>`;
}

function ReviewPanel({ visit, onReviewed }) {
  const [decision, setDecision] = useState('');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  if (visit.review_state !== 'pending') {
    return html`<${Card} title=${t('审核结果', 'Review')}>
      <${Facts} items=${[
        [t('结果', 'Decision'), html`<${EnumBadge} kind="review_state" value=${visit.review_state} />`],
        [t('审核时间', 'Reviewed at'), fmtDateTime(visit.reviewed_at)],
        [t('意见', 'Comment'), visit.review_note || '—'],
      ]} />
    <//>`;
  }
  const needsNote = decision && decision !== 'approved';
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      const body = { decision };
      if (note.trim()) body.note = note.trim();
      const v = await post(`/visits/${visit.id}/review`, body);
      toast(t('已审核', 'Reviewed'));
      onReviewed(v);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const options = [
    ['approved', t('通过', 'Approve'), t('走访真实有效', 'The visit stands')],
    ['has_issues', t('有问题，退回补充', 'Has issues'), t('任务退回网格员，下次同步时更正', 'Back to the worker to correct at the next sync')],
    ['rejected', t('驳回', 'Reject'), t('走访不予采信', 'The visit is not accepted')],
  ];
  return html`<${Card} title=${t('审核', 'Review')}>
    <div class="wf-decision" role="radiogroup" aria-label=${t('审核结论', 'Decision')}>
      ${options.map(([value, text, hint]) => html`<label class=${decision === value ? 'is-chosen' : ''} title=${hint}>
        <input type="radio" name="decision" value=${value} checked=${decision === value} onChange=${() => setDecision(value)} />${text}</label>`)}
    </div>
    <${Field} label=${needsNote ? t('意见（必填）', 'Comment (required)') : t('意见', 'Comment')} required=${needsNote}>
      <${TextArea} name="review-note" value=${note} onInput=${setNote} rows=${3} />
    <//>
    <${ErrorLine} error=${error} />
    <${Button} kind=${decision === 'rejected' ? 'danger' : 'primary'} busy=${busy} disabled=${!decision || (needsNote && !note.trim())}
      onClick=${submit} data-action="submit-review">${t('提交审核', 'Submit the review')}<//>
  <//>`;
}

function VisitDetail({ id, me }) {
  const [viewing, setViewing] = useState(null);
  const [reloadKey, setReloadKey] = useState(0);
  const state = useAsync(async () => {
    const visit = await get(`/visits/${id}`);
    const [house, form, users] = await Promise.all([
      household(visit.household_id).catch(() => null),
      get(`/forms/${encodeURIComponent(visit.form_key)}/versions/${visit.form_version}`).catch(() => null),
      usersById(me),
    ]);
    return { visit, house, form, users };
  }, [id, reloadKey]);
  return html`<${AsyncItem} state=${state} back="#/visits" what=${['走访记录', 'visit']}>${({ visit, house, form, users }) => {
    const day = fmtDate(visit.started_at);
    const counts = form ? relevanceCounts(form.definition, visit.answers, day) : null;
    const onSite = Math.round((Date.parse(visit.finished_at) - Date.parse(visit.started_at)) / 60000);
    return html`<div class="stack" data-screen="visit" data-visit=${visit.id}>
      <${PageHead} title=${html`${t('走访', 'Visit')} · <${HouseholdName} id=${visit.household_id} />`}>
        <${Button} onClick=${() => go('/visits')}>${t('返回队列', 'Back to the queue')}<//>
      <//>
      <${Card}>
        <${Facts} items=${[
          [t('审核状态', 'Review state'), html`<${EnumBadge} kind="review_state" value=${visit.review_state} />`],
          [t('网格员', 'Worker'), userName(users, visit.worker_id)],
          [t('同行工作人员', 'Other staff present'), visit.staff.length ? visit.staff.map((s) => userName(users, s)).join(t('、', ', ')) : '—'],
          [t('走访时间', 'Visited'), `${fmtDateTime(visit.started_at)} – ${fmtDateTime(visit.finished_at).slice(11)}（${t(`${onSite} 分钟`, `${onSite} min`)}）`],
          [t('定位', 'Fix'), `${visit.lat.toFixed(6)}, ${visit.lon.toFixed(6)} ±${Math.round(visit.location.accuracy_m)} m${visit.location.mock ? t('（模拟定位）', ' (mock)') : ''}`],
          [t('收到时间', 'Received'), fmtDateTime(visit.received_at)],
          [t('表单', 'Form'), form ? `${pick(form.definition.title)} v${visit.form_version}` : `${visit.form_key} v${visit.form_version}`],
          visit.supersedes && [t('更正自', 'Corrects'), html`<a href=${`#/visits/${visit.supersedes}`}>${visit.supersedes.slice(-6)}</a>`],
        ]} />
      <//>
      <div class="wf-review">
        <div class="stack">
          <${Card} title=${html`${t('核查标记', 'Verification flags')} <${Badge} tone=${visit.flags.length ? 'bad' : 'ok'}>${visit.flags.length}<//>`}>
            ${visit.flags.length === 0 ? html`<p class="muted">${t('位置、时间和照片的核查均未发现问题。', 'The checks of place, time and photos found nothing.')}</p>`
              : html`<div class="wf-flags">${visit.flags.map((f) => html`<${FlagCard} flag=${f} visit=${visit} household=${house} onOpenPhoto=${setViewing} />`)}</div>`}
            ${visit.flags.length > 0 && !house?.location && html`<p class="muted">${t('该户未登记位置，无法绘制距离图。', 'The household has no registered position: no distance map.')}</p>`}
          <//>
          <${Card} title=${t(`照片（${visit.photo_ids.length}）`, `Photos (${visit.photo_ids.length})`)}>
            ${visit.photo_ids.length === 0 ? html`<p class="muted">${t('无照片', 'No photos')}</p>`
              : html`<div class="wf-photos">${visit.photo_ids.map((p) => html`<${Photo} id=${p} onClick=${() => setViewing(p)} alt=${t('走访照片', 'Visit photo')} />`)}</div>`}
          <//>
          <${ReviewPanel} visit=${visit} onReviewed=${() => setReloadKey((k) => k + 1)} />
        </div>
        <${Card} title=${t('走访内容', 'Answers')} actions=${counts && html`<span class="muted">${t(`按表单逻辑跳过 ${counts.skipped} 项`, `${counts.skipped} skipped by the form's logic`)}</span>`}>
          ${form ? html`<${Answers} definition=${form.definition} answers=${visit.answers} today=${day} onOpenPhoto=${setViewing} />`
            : html`<p class="muted">${t('表单版本无法读取，以下为原始答案：', 'The form version could not be read; the raw answers:')}</p><pre class="mono">${JSON.stringify(visit.answers, null, 2)}</pre>`}
        <//>
      </div>
      ${viewing && html`<${PhotoViewer} id=${viewing} onClose=${() => setViewing(null)} />`}
    </div>`;
  }}<//>`;
}

export default function Visits({ params, me }) {
  useWorkflowStyles();
  return params?.id ? html`<${VisitDetail} id=${params.id} me=${me} />` : html`<${Queue} me=${me} />`;
}
