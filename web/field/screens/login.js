// Log-in: grid workers only. After one online log-in the app opens without a network.

import { html, useState } from '../../shared/html.js';
import { t, lang, setLang, errorText } from '../../shared/i18n.js';
import { login, session } from '../net.js';
import { refresh } from '../state.js';

export function LoginScreen({ onDone, inline = false }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const username = String(f.get('username')).trim();
      const before = session.value?.user?.username;
      // The phone holds the previous worker's tasks and unsent visits: they log out first (which
      // sends or keeps them), so one worker's records never go out under another's name.
      if (before && before !== username) {
        setError(t(`手机上还有 ${before} 的数据，请 ${before} 先登录并退出。`, `This phone holds ${before}'s records: ${before} must log in and log out first.`));
        return;
      }
      await login(username, String(f.get('password')));
      onDone ? onDone() : refresh();
    } catch (e) {
      setError(e.code === 'not_a_grid_worker' ? t('此应用仅供网格员使用，其他角色请使用电脑端。', 'This app is for grid workers; other roles use the console.') : errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return html`<form class=${inline ? 'login inline' : 'login'} onSubmit=${submit} data-testid="login">
    ${inline ? null : html`<h1>${t('网格员走访', 'Grid worker visits')}</h1>
      <p class="sub">${t('智慧救助 · 主动发现', 'Social assistance · proactive discovery')}</p>`}
    <label>${t('用户名', 'Username')}<input name="username" autocomplete="username" required autocapitalize="off" value=${session.value?.user?.username ?? ''} /></label>
    <label>${t('密码', 'Password')}<input name="password" type="password" autocomplete="current-password" required /></label>
    ${error ? html`<p class="error-line" role="alert">${error}</p>` : null}
    <button class="primary big" type="submit" disabled=${busy}>${busy ? t('正在登录…', 'Logging in…') : t('登录', 'Log in')}</button>
    ${inline ? null : html`<button class="link" type="button" onClick=${() => setLang(lang.value === 'zh' ? 'en' : 'zh')}>${lang.value === 'zh' ? 'English' : '中文'}</button>`}
  </form>`;
}
