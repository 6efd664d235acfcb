// The grid worker's phone app: opens from IndexedDB at once (with or without a network), then
// syncs and sends the outbox on start, on the `online` event and when the worker pulls the task
// list down. Screens live in screens/; the phone's memory in store.js; sending in outbox.js.

import { html, render, useEffect, useState } from '../shared/html.js';
import { t, lang, setLang, errorText } from '../shared/i18n.js';
import { fmtRelative } from '../shared/time.js';
import { session, loadSession } from './net.js';
import { outboxTick, counts } from './outbox.js';
import { route, go, online, syncState, dataTick, refresh, listenToNetwork } from './state.js';
import { getMeta } from './store.js';
import { LoginScreen } from './screens/login.js';
import { TasksScreen } from './screens/tasks.js';
import { HouseholdScreen } from './screens/household.js';
import { MapScreen } from './screens/map.js';
import { VisitScreen } from './screens/visit.js';
import { OutboxScreen } from './screens/outbox.js';
import { SettingsScreen } from './screens/settings.js';

function Tabs({ here }) {
  const [c, setC] = useState({ queued: 0, sending: 0, needs_attention: 0 });
  const tick = outboxTick.value;
  useEffect(() => { counts().then(setC); }, [tick, dataTick.value]);
  const waiting = c.queued + c.sending;
  const tabs = [
    ['tasks', t('任务', 'Tasks'), null],
    ['map', t('地图', 'Map'), null],
    ['outbox', t('待发送', 'Outbox'), waiting + c.needs_attention || null],
    ['settings', t('我的', 'Me'), null],
  ];
  return html`<nav class="tabs">${tabs.map(([key, name, badge]) => html`
    <a href=${`#/${key}`} class=${here === key ? 'on' : ''} data-testid=${`tab-${key}`}>
      ${name}${badge ? html`<span class=${`badge ${c.needs_attention ? 'warn' : ''}`}>${badge}</span>` : null}
    </a>`)}</nav>`;
}

function StatusLine() {
  const s = syncState.value;
  let text;
  if (!online.value) text = t('离线：记录保存在手机上，联网后自动发送', 'Offline: saved on the phone, sent when back online');
  else if (s.state === 'syncing') text = t('正在同步…', 'Syncing…');
  else if (s.state === 'error') text = `${t('同步未完成', 'Sync incomplete')}：${errorText(s.error)}`;
  else if (s.state === 'done') text = `${t('已同步', 'Synced')} ${fmtRelative(s.at)}`;
  else return null;
  return html`<div class=${`status ${!online.value ? 'offline' : s.state}`} data-testid="status" role="status">${text}</div>`;
}

function Expired() {
  return html`<div class="banner warn" data-testid="expired">
    ${t('登录已过期，请重新登录；未发送的记录仍保存在手机上。', 'Your session expired: log in again. Unsent records stay on the phone.')}
    <${LoginScreen} inline=${true} />
  </div>`;
}

function App() {
  const r = route.value;
  const here = r[0];
  // Re-render on language change.
  void lang.value;
  if (!session.value) return html`<${LoginScreen} onDone=${() => { go('tasks'); refresh(); }} />`;
  let screen;
  switch (here) {
    case 'task': screen = html`<${HouseholdScreen} taskId=${r[1]} />`; break;
    case 'visit': screen = html`<${VisitScreen} taskId=${r[1]} />`; break;
    case 'map': screen = html`<${MapScreen} />`; break;
    case 'outbox': screen = html`<${OutboxScreen} />`; break;
    case 'settings': screen = html`<${SettingsScreen} />`; break;
    default: screen = html`<${TasksScreen} />`;
  }
  const tab = ['task', 'visit'].includes(here) ? 'tasks' : here;
  return html`
    <header class="top">
      <span class="brand">${t('网格走访', 'Field visits')}</span>
      <span class="who" data-testid="who">${session.value.user?.display_name ?? ''}</span>
      <button class="lang" type="button" onClick=${() => setLang(lang.value === 'zh' ? 'en' : 'zh')}>${lang.value === 'zh' ? 'EN' : '中文'}</button>
    </header>
    <${StatusLine} />
    ${session.value.expired ? html`<${Expired} />` : null}
    <main>${screen}</main>
    <${Tabs} here=${tab} />`;
}

async function start() {
  await loadSession();
  listenToNetwork();
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/field/sw.js', { scope: '/field/' }).catch(() => { /* no secure context: no offline shell */ });
  }
  navigator.storage?.persist?.().catch(() => {});
  const last = await getMeta('synced_at');
  if (last) syncState.value = { state: 'done', at: last };
  const root = document.getElementById('app');
  root.textContent = '';
  render(html`<${App} />`, root);
  document.documentElement.dataset.ready = '1';
  if (session.value && navigator.onLine) refresh({ force: true });
}

start();
