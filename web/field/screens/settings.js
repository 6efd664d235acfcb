// Settings: who is logged in, the phone's storage, language, log-out (never while visits wait).

import { html, useEffect, useState } from '../../shared/html.js';
import { t, lang, setLang, label } from '../../shared/i18n.js';
import { fmtRelative } from '../../shared/time.js';
import { usage, visits, wipe, getMeta } from '../store.js';
import { session, logout } from '../net.js';
import { go } from '../state.js';

const mb = (n) => (n === null || n === undefined ? '—' : `${(n / 1048576).toFixed(1)} MB`);

export function SettingsScreen() {
  const [u, setU] = useState(null);
  const [unsent, setUnsent] = useState(0);
  const [synced, setSynced] = useState(null);
  const [msg, setMsg] = useState(null);
  useEffect(() => {
    usage().then(setU);
    visits().then((v) => setUnsent(v.filter((x) => x.state !== 'sent').length));
    getMeta('synced_at').then(setSynced);
  }, []);
  const user = session.value?.user;
  const out = async (force) => {
    if (unsent && !force) {
      setMsg(t(`还有 ${unsent} 条走访未发送，退出会把它们从手机上删除。请先联网发送。`, `${unsent} visits are not sent: logging out would delete them. Send them first.`));
      return;
    }
    if (force && !confirm(t('确定放弃未发送的走访并退出？', 'Discard the unsent visits and log out?'))) return;
    await logout();
    await wipe();
    go('tasks');
  };
  return html`<section class="settings" data-testid="settings">
    <h2>${t('我的', 'Me')}</h2>
    <div class="card">
      <div class="row between"><span>${t('姓名', 'Name')}</span><strong>${user?.display_name}</strong></div>
      <div class="row between"><span>${t('账号', 'Username')}</span><span>${user?.username}</span></div>
      <div class="row between"><span>${t('角色', 'Role')}</span><span>${label('role', user?.role)}</span></div>
      <div class="row between"><span>${t('网格', 'Grid')}</span><span>${user?.org_unit_code}</span></div>
      <div class="row between"><span>${t('上次同步', 'Last sync')}</span><span>${synced ? fmtRelative(synced) : '—'}</span></div>
    </div>
    <h3>${t('存储', 'Storage')}</h3>
    <div class="card" data-testid="storage">
      <div class="row between"><span>${t('待发送照片', 'Photos waiting')}</span><span>${u ? `${u.photoCount} · ${mb(u.photoBytes)}` : '…'}</span></div>
      <div class="row between"><span>${t('本应用已用', 'Used by the app')}</span><span>${u ? mb(u.usage) : '…'}</span></div>
      <div class="row between"><span>${t('可用空间', 'Quota')}</span><span>${u ? mb(u.quota) : '…'}</span></div>
      <div class="row between"><span>${t('持久存储', 'Persistent storage')}</span><span>${u ? (u.persisted ? t('已开启', 'on') : t('未开启（空间紧张时浏览器可能清除）', 'off (the browser may clear it when short of space)')) : '…'}</span></div>
    </div>
    <div class="card">
      <div class="row between"><span>${t('语言', 'Language')}</span>
        <button type="button" class="secondary" onClick=${() => setLang(lang.value === 'zh' ? 'en' : 'zh')}>${lang.value === 'zh' ? 'English' : '中文'}</button></div>
    </div>
    ${msg ? html`<p class="error-line" role="alert">${msg}</p>` : null}
    <button type="button" class="danger big" data-testid="logout" onClick=${() => out(false)}>${t('退出登录', 'Log out')}</button>
    ${msg ? html`<button type="button" class="link danger" onClick=${() => out(true)}>${t('放弃未发送的走访并退出', 'Discard unsent visits and log out')}</button>` : null}
  </section>`;
}
