// Two-step verification (an authenticator app's six-digit codes, RFC 6238): the code field of the
// log-in, the enrolment steps (the server's QR code and secret, then a code to confirm), the page an
// admin who must enrol sees instead of the shell, and the account dialog where any officer turns it on.

import { html, useState, useEffect, useRef } from '../shared/html.js';
import { get, post, logout, secondFactorEnrolled } from '../shared/api.js';
import { t, label } from '../shared/i18n.js';
import { Button, Badge, Field, ErrorLine, Modal, Async, useAsync, Facts, toast } from './ui.js';

const ICON = new URL('./icon.svg', import.meta.url).href;

/** Digits only, six at most (a pasted `123 456` is kept). */
export const digits = (text) => text.replace(/\D/g, '').slice(0, 6);

/** `JBSWY3DPEHPK3PXP` → `JBSW Y3DP EHPK 3PXP`, for typing into the app by hand. */
export function groupSecret(secret) {
  return (secret.replace(/\s+/g, '').match(/.{1,4}/g) ?? []).join(' ');
}

/** The server's SVG as a data: URL for an <img> (never put into the page as markup). */
export function svgDataUrl(svg) {
  let bin = '';
  for (const b of new TextEncoder().encode(svg)) bin += String.fromCharCode(b);
  return `data:image/svg+xml;base64,${btoa(bin)}`;
}

/**
 * The six-digit field: a numeric keypad, the phone's one-time-code autofill, focused when it shows
 * and again whenever `focusKey` changes (after a refused code).
 */
export function CodeInput({ value, onInput, focusKey, ...rest }) {
  const box = useRef(null);
  useEffect(() => { box.current?.focus(); }, [focusKey]);
  const input = (e) => {
    const clean = digits(e.currentTarget.value);
    e.currentTarget.value = clean; // a refused character leaves the state as it was, so no render would drop it
    onInput(clean);
  };
  return html`<input ref=${box} class="input mono code-input" name="second_factor_code" inputmode="numeric" autocomplete="one-time-code"
    pattern="[0-9]{6}" maxlength="6" value=${value ?? ''} onInput=${input} ...${rest} />`;
}

/** The field of a code with its label, as the log-in and the enrolment show it. */
export function CodeField({ value, onInput, focusKey, hint }) {
  return html`<${Field} label=${t('动态验证码', 'Authenticator code')} required
      hint=${hint ?? t('手机身份验证器应用中显示的 6 位数字', 'The six digits your authenticator app shows')}>
    <${CodeInput} value=${value} onInput=${onInput} focusKey=${focusKey} required />
  <//>`;
}

/**
 * Starts an enrolment (each start is a new secret) and confirms it with a code from the app.
 * `onDone(user)` gets the account with its second factor on.
 */
export function Enrol({ onDone }) {
  const started = useAsync(() => post('/auth/second-factor').catch(async (e) => {
    // Already on (turned on elsewhere): nothing to set up; the account as it is now.
    if (e.code === 'second_factor_enabled') return { user: await get('/me') };
    throw e;
  }), []);
  useEffect(() => { if (started.data?.user) onDone(started.data.user); }, [started.data]);
  return html`<${Async} state=${started}>${(d) => (d.user ? null : html`<${EnrolSteps} start=${d} restart=${started.reload} onDone=${onDone} />`)}<//>`;
}

function EnrolSteps({ start, restart, onDone }) {
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [focusKey, setFocusKey] = useState(0);
  const confirm = async (e) => {
    e.preventDefault();
    if (code.length !== 6) return;
    setBusy(true);
    setError(null);
    try {
      onDone(await post('/auth/second-factor/confirm', { code }));
    } catch (err) {
      setError(err);
      setCode('');
      setBusy(false);
      setFocusKey((k) => k + 1);
      if (err.code === 'second_factor_not_started') restart();
    }
  };
  return html`<form class="enrol" onSubmit=${confirm} data-testid="second-factor-setup">
    <ol class="enrol-steps">
      <li>${t('在手机上安装身份验证器应用（如腾讯身份验证器、Microsoft Authenticator、Google Authenticator、FreeOTP）。',
        'Install an authenticator app on your phone (Microsoft Authenticator, Google Authenticator, FreeOTP...).')}</li>
      <li>${t('用应用扫描下面的二维码；无法扫描时，在应用中手动输入密钥。', 'Scan the QR code below with the app, or type the key into it.')}
        <img class="qr" src=${svgDataUrl(start.qr_svg)} width="200" height="200"
          alt=${t('两步验证二维码（内容与下方密钥相同）', 'QR code for two-step verification (it holds the key below)')} />
        <p class="secret-line">${t('密钥：', 'Key: ')}<code class="mono secret" data-testid="second-factor-secret">${groupSecret(start.secret)}</code></p>
      </li>
      <li>${t('输入应用显示的 6 位动态验证码，完成开启。', 'Enter the six digits the app shows to finish.')}</li>
    </ol>
    <${CodeField} value=${code} onInput=${setCode} focusKey=${focusKey} />
    <${ErrorLine} error=${error} />
    <${Button} kind="primary" type="submit" busy=${busy} disabled=${code.length !== 6} class="btn-block">${t('确认开启', 'Turn it on')}<//>
  </form>`;
}

/**
 * The page an account sees while the server opens nothing to it but enrolment (an admin without a
 * second factor where one is required): enrol, or log out. `children`: the language switch.
 */
export function EnrolmentPage({ user, children }) {
  useEffect(() => { document.title = `${t('开启两步验证', 'Turn on two-step verification')} · ${t('救助工作台', 'Jiuzhu console')}`; });
  const done = (u) => {
    secondFactorEnrolled(u);
    toast(t('两步验证已开启', 'Two-step verification is on'));
  };
  return html`<div class="login-page">
    <main class="login-box enrol-box" aria-labelledby="enrol-title" data-testid="second-factor-enrolment">
      <div class="login-brand"><img src=${ICON} alt="" width="40" height="40" /><div>
        <h1 id="enrol-title">${t('开启两步验证', 'Turn on two-step verification')}</h1>
        <p class="muted">${user.display_name} · ${label('role', user.role)}</p></div></div>
      <p class="notice notice-warn">${t('本账号须先开启两步验证才能使用工作台：以后登录时，除密码外还要输入手机应用中的动态验证码。',
        'This account must turn on two-step verification before it can use the console: from now on, a log-in also asks for a code from your phone.')}</p>
      <${Enrol} onDone=${done} />
      <div class="login-foot row"><${Button} kind="link" onClick=${() => logout()}>${t('退出', 'Log out')}<//>${children}</div>
    </main>
  </div>`;
}

/** Whether an account has two-step verification, as a badge. */
export function SecondFactorBadge({ on }) {
  return on ? html`<${Badge} tone="ok">${t('已开启', 'On')}<//>` : html`<${Badge}>${t('未开启', 'Off')}<//>`;
}

/** The caller's account security: two-step verification on, or the way to turn it on. */
export function AccountDialog({ me, onClose }) {
  const [setting, setSetting] = useState(false);
  const done = (user) => {
    secondFactorEnrolled(user);
    toast(t('两步验证已开启', 'Two-step verification is on'));
    setSetting(false);
  };
  return html`<${Modal} title=${t('账号安全', 'Account security')} onClose=${onClose}>
    <div data-testid="account-security">
      <${Facts} items=${[
        [t('用户名', 'Username'), html`<span class="mono">${me.username}</span>`],
        [t('两步验证', 'Two-step verification'), html`<span data-testid="second-factor-state"><${SecondFactorBadge} on=${me.second_factor} /></span>`],
      ]} />
      ${me.second_factor ? html`<p class="notice notice-info">${t('登录时除密码外还需输入手机身份验证器应用中的动态验证码。更换或丢失手机时，请联系管理员重置。',
        'A log-in asks for the code from your authenticator app as well as the password. If you change or lose your phone, ask an administrator to reset it.')}</p>`
      : setting ? html`<${Enrol} onDone=${done} />`
      : html`<p class="hint">${t('开启后，登录时除密码外还需输入手机身份验证器应用中的 6 位动态验证码，密码泄露也不致被冒用。',
          'Once on, a log-in asks for six digits from an authenticator app on your phone as well as the password, so a leaked password is not enough.')}</p>
        <p><${Button} kind="primary" onClick=${() => setSetting(true)}>${t('开启两步验证', 'Turn on two-step verification')}<//></p>`}
    </div>
  <//>`;
}
