// The outbox: each visit saved on the phone and where it stands (queued, sending, sent, needs
// attention). A refusal shows the server's reason in the worker's language and what to do about it.

import { html, useEffect, useState } from '../../shared/html.js';
import { t, label, errorText, half } from '../../shared/i18n.js';
import { fmtDateTime, fmtRelative } from '../../shared/time.js';
import { visits, reopenVisit, deleteVisit } from '../store.js';
import { push, outboxTick, sending } from '../outbox.js';
import { go, online, refresh } from '../state.js';

const STATE = {
  queued: ['等待发送', 'Queued'],
  sending: ['正在发送', 'Sending'],
  sent: ['已发送', 'Sent'],
  needs_attention: ['需要处理', 'Needs attention'],
};

/** Refusals the worker can fix by editing the visit. */
const EDITABLE = new Set(['validation_failed', 'invalid_photo', 'payload_too_large', 'unsupported_media_type', 'bad_request']);

/** What the worker can do about a permanent refusal, by the server's code. */
export function whatToDo(code) {
  switch (code) {
    case 'validation_failed':
    case 'invalid_photo':
      return t('点“修改”打开这次走访，按上面的提示改正后重新完成。', 'Press Edit, correct what is listed above, and finish again.');
    case 'task_not_open':
    case 'not_found':
      return t('任务已取消、改派或不在您的网格内：请联系社区协调员；确认后可删除这条记录。', 'The task was cancelled, reassigned or is outside your grid: call your coordinator; then you may delete this record.');
    case 'idempotency_conflict':
      return t('服务器已收到一份编号相同但内容不同的报告：请联系社区协调员核对。', 'The server holds a different report under this id: ask your coordinator to check.');
    case 'payload_too_large':
      return t('照片过大：点“修改”重拍后重新完成。', 'A photo is too large: press Edit, retake it and finish again.');
    case 'forbidden':
      return t('您的账号无权提交此走访：请联系社区协调员。', 'Your account may not submit this visit: call your coordinator.');
    default:
      return t('请联系社区协调员或管理员。', 'Call your coordinator or the administrator.');
  }
}

function Progress({ id }) {
  const s = sending.value;
  if (!s || s.visit !== id) return null;
  if (!s.photo) return html`<span class="hint">${t('正在提交走访…', 'Submitting the visit…')}</span>`;
  const pct = s.size ? Math.round((s.sent / s.size) * 100) : 0;
  return html`<span class="hint">${t(`照片 ${s.index}/${s.total} 上传中 ${pct}%`, `Photo ${s.index}/${s.total} ${pct}%`)}</span>`;
}

export function OutboxScreen() {
  const [items, setItems] = useState(null);
  useEffect(() => { visits().then((v) => setItems(v.reverse())); }, [outboxTick.value]);
  if (!items) return null;
  const waiting = items.filter((v) => v.state === 'queued' || v.state === 'sending').length;
  return html`<section class="outbox" data-testid="outbox">
    <div class="row between">
      <h2>${t('待发送', 'Outbox')} <small>${waiting}</small></h2>
      <button type="button" class="secondary" data-testid="send-now" disabled=${!online.value} onClick=${() => refresh({ force: true })}>${t('立即发送', 'Send now')}</button>
    </div>
    ${!online.value && waiting ? html`<p class="hint">${t('当前离线：记录已保存在手机上，联网后自动发送。', 'Offline: saved on the phone, sent automatically when back online.')}</p>` : null}
    ${items.length === 0 ? html`<p class="empty">${t('没有记录', 'Nothing here')}</p>` : null}
    <ul class="cards">${items.map((v) => html`<li key=${v.id} class=${`card outbox-item ${v.state}`} data-testid="outbox-item" data-state=${v.state}>
      <div class="row between"><strong>${v.address || v.body.task_id}</strong><span class=${`chip ${v.state}`} data-testid="outbox-state">${t(...STATE[v.state])}</span></div>
      <div class="meta">${t('完成于', 'Finished')} ${fmtDateTime(v.body.finished_at)} · ${t(`${v.body.photo_ids.length} 张照片`, `${v.body.photo_ids.length} photos`)}${v.sent_at ? ` · ${t('发送于', 'sent')} ${fmtRelative(v.sent_at)}` : ''}</div>
      ${v.state === 'sending' ? html`<${Progress} id=${v.id} />` : null}
      ${v.state === 'queued' && v.error ? html`<p class="hint">${t('上次未发出：', 'Last try failed: ')}${errorText(v.error)}${v.next_at > Date.now() ? t(`，${fmtRelative(new Date(v.next_at))}后重试`, `, retry later`) : ''}</p>` : null}
      ${v.state === 'sent' && v.flags?.length ? html`<p class="hint">${t('需协调员核实：', 'For the coordinator to check: ')}${[...new Set(v.flags.map((f) => f.code))].map((c) => label('flag', c)).join('、')}</p>` : null}
      ${v.state === 'needs_attention' ? html`<div class="attention" data-testid="attention">
        <p class="error-line">${errorText(v.error)}</p>
        ${v.error?.details?.length ? html`<ul>${v.error.details.map((d) => html`<li>${d.field.replace(/^answers\./, '')}：${half(d.message)}</li>`)}</ul>` : null}
        <p>${whatToDo(v.error?.code)}</p>
        <div class="row">
          ${EDITABLE.has(v.error?.code) ? html`<button type="button" class="primary" onClick=${async () => { const task = await reopenVisit(v.id); outboxTick.value++; go(`visit/${task}`); }}>${t('修改', 'Edit')}</button>` : null}
          <button type="button" class="link danger" onClick=${async () => {
            if (!confirm(t('删除后这次走访的记录和照片将从手机上清除，确定吗？', 'Delete this visit and its photos from the phone?'))) return;
            await deleteVisit(v.id); outboxTick.value++;
          }}>${t('删除', 'Delete')}</button>
        </div>
      </div>` : null}
    </li>`)}</ul>
  </section>`;
}

export { push };
