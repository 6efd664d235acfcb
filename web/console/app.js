// The console's shell: the log-in gate (with the authenticator code when the account has a second
// factor), the enrolment page for a session the server opens to nothing else, the layout with a sidebar
// for the caller's role, and a hash router that loads each screen (web/console/screens/<name>.js) on
// first use. A screen's default export is a component receiving { params, me }.

import { html, render, signal, useState, useEffect, useErrorBoundary } from '../shared/html.js';
import { session, login, logout, forget, get } from '../shared/api.js';
import { lang, setLang, t, label, errorText } from '../shared/i18n.js';
import { Button, Toasts, Field, Input, ErrorLine, UnitName, Loading } from './ui.js';
import { CodeField, EnrolmentPage, AccountDialog } from './second-factor.js';

// ---- routes -------------------------------------------------------------------------------------

/** Sidebar entries: [route, screen module, 中文, English, roles that see it]. */
const OFFICE = ['coordinator', 'street_officer', 'district_officer', 'admin'];
const NAV = [
  ['overview', 'overview', '工作概览', 'Overview', OFFICE],
  ['map', 'map', '地图', 'Map', OFFICE],
  ['tasks', 'tasks', '走访任务', 'Tasks', ['coordinator', 'street_officer', 'admin']],
  ['visits', 'visits', '走访审核', 'Visit review', ['coordinator', 'street_officer', 'district_officer', 'admin']],
  ['findings', 'findings', '主动发现', 'Findings', OFFICE],
  ['applications', 'applications', '救助申请', 'Applications', OFFICE],
  ['households', 'households', '住户档案', 'Households', OFFICE],
  ['data', 'data', '数据导入导出', 'Imports & exports', OFFICE],
  ['admin', 'admin', '系统管理', 'Administration', ['admin']],
];

/** `#/households/abc?x=1` → { route: 'households', id: 'abc', rest: [...], query: {x: '1'} }. */
export function parseHash(hash) {
  const raw = (hash || '').replace(/^#\/?/, '');
  const [pathPart, queryPart = ''] = raw.split('?');
  const segs = pathPart.split('/').filter(Boolean).map(decodeURIComponent);
  const query = Object.fromEntries(new URLSearchParams(queryPart));
  const route = segs[0] ?? '';
  return { route, id: segs[1] ?? null, section: route === 'admin' ? segs[1] ?? null : null, rest: segs.slice(1), query };
}

const current = signal(parseHash(location.hash));
addEventListener('hashchange', () => { current.value = parseHash(location.hash); });

const ICON = new URL('./icon.svg', import.meta.url).href;
const loaded = new Map();

/** Loads a screen module once; a failed load may be retried. */
function loadScreen(name) {
  if (!loaded.has(name)) {
    const p = import(`./screens/${name}.js`);
    p.catch(() => loaded.delete(name));
    loaded.set(name, p);
  }
  return loaded.get(name);
}

// ---- log-in -------------------------------------------------------------------------------------

/** What a grid worker or a citizen is told: the console is not theirs. */
export function phoneAppNotice(role) {
  if (role === 'grid_worker') {
    return {
      text: t('网格员请使用手机上的“网格员走访”应用，不在此工作台办理。', 'Grid workers use the phone app, not this console.'),
      href: '/field/', link: t('打开网格员应用', 'Open the field app'),
    };
  }
  return {
    text: t('群众请使用微信小程序或手机网页反映困难、查询进度。', 'Citizens use the WeChat mini-program or the phone page to report and follow up.'),
    href: '/h5/', link: t('打开群众自助页面', 'Open the citizen page'),
  };
}

/** Answers of the log-in that ask for the authenticator code (again). */
const CODE_ASKED = ['second_factor_required', 'second_factor_invalid'];

function Login() {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  // The code field shows once the server has said the account has a second factor.
  const [needCode, setNeedCode] = useState(false);
  const [code, setCode] = useState('');
  const [codeFocus, setCodeFocus] = useState(0);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [turnedAway, setTurnedAway] = useState(null);

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setTurnedAway(null);
    try {
      // A grid worker's or a citizen's session is ended at once: the console never works for them.
      const { user, accepted } = await login(username.trim(), password, { accept: (u) => OFFICE.includes(u.role), code: needCode ? code : undefined });
      if (!accepted) setTurnedAway(user.role);
    } catch (err) {
      if (CODE_ASKED.includes(err.code)) {
        setNeedCode(true);
        setCode('');
        setCodeFocus((n) => n + 1);
      }
      // Being asked for the code is no error; a refused code is.
      if (err.code !== 'second_factor_required') setError(err);
    } finally {
      setBusy(false);
    }
  };
  // Another account's code is another question.
  const changeUsername = (v) => {
    setUsername(v);
    setNeedCode(false);
    setCode('');
  };

  const notice = turnedAway && phoneAppNotice(turnedAway);
  return html`<div class="login-page">
    <form class="login-box" onSubmit=${submit} aria-labelledby="login-title">
      <div class="login-brand"><img src=${ICON} alt="" width="40" height="40" /><div>
        <h1 id="login-title">${t('救助工作台', 'Jiuzhu console')}</h1>
        <p class="muted">${t('智慧救助 · 主动发现', 'Social assistance · proactive discovery')}</p></div></div>
      <${Field} label=${t('用户名', 'Username')} required>
        <${Input} name="username" autocomplete="username" value=${username} onInput=${changeUsername} required />
      <//>
      <${Field} label=${t('密码', 'Password')} required>
        <${Input} name="password" type="password" autocomplete="current-password" value=${password} onInput=${setPassword} required />
      <//>
      ${needCode && html`<${CodeField} value=${code} onInput=${setCode} focusKey=${codeFocus}
        hint=${t('本账号已开启两步验证：请输入手机身份验证器应用中的 6 位数字', 'This account has two-step verification: enter the six digits your authenticator app shows')} />`}
      <${ErrorLine} error=${error} />
      ${notice && html`<div class="notice notice-warn" role="alert" data-testid="phone-app-notice">
        <p>${label('role', turnedAway)}：${notice.text}</p><a href=${notice.href}>${notice.link}</a></div>`}
      <${Button} kind="primary" type="submit" busy=${busy} disabled=${!username || !password || (needCode && code.length !== 6)} class="btn-block">${t('登录', 'Log in')}<//>
      <div class="login-foot"><${LangSwitch} /></div>
    </form>
  </div>`;
}

function LangSwitch() {
  return html`<div class="lang-switch" role="group" aria-label="语言 / Language">
    <button type="button" class=${lang.value === 'zh' ? 'is-active' : ''} aria-pressed=${lang.value === 'zh'} onClick=${() => setLang('zh')}>中文</button>
    <button type="button" class=${lang.value === 'en' ? 'is-active' : ''} aria-pressed=${lang.value === 'en'} onClick=${() => setLang('en')}>English</button>
  </div>`;
}

// ---- layout -------------------------------------------------------------------------------------

function ScreenHost({ name, params, me }) {
  const [mod, setMod] = useState(null);
  const [failed, setFailed] = useState(null);
  const [attempt, setAttempt] = useState(0);
  const [crash, resetCrash] = useErrorBoundary((e) => console.warn('screen crashed', e));
  useEffect(() => {
    let live = true;
    setMod(null);
    setFailed(null);
    loadScreen(name).then((m) => live && setMod(() => m.default), (e) => live && setFailed(e));
    return () => { live = false; };
  }, [name, attempt]);
  if (crash) {
    return html`<div class="state state-error" role="alert"><div>${t('页面出错了：', 'This screen failed: ')}${String(crash.message ?? crash)}</div>
      <${Button} onClick=${() => { resetCrash(); setAttempt((a) => a + 1); }}>${t('重新加载', 'Reload')}<//></div>`;
  }
  if (failed) {
    return html`<div class="state state-error" role="alert" data-testid="screen-load-failed">
      <div>${t('页面加载失败，请稍后重试。', 'This screen could not be loaded. Try again later.')}</div>
      <${Button} onClick=${() => setAttempt((a) => a + 1)}>${t('重试', 'Retry')}<//></div>`;
  }
  if (!mod) return html`<${Loading} />`;
  const Screen = mod;
  return html`<${Screen} params=${params} me=${me} />`;
}

function Shell({ me }) {
  const r = current.value;
  const nav = NAV.filter(([, , , , roles]) => roles.includes(me.role));
  const entry = nav.find(([route]) => route === r.route);
  useEffect(() => {
    if (!entry) location.replace(`#/${nav[0][0]}`);
  }, [entry]);
  useEffect(() => {
    const title = entry ? t(entry[2], entry[3]) : '';
    document.title = `${title ? `${title} · ` : ''}${t('救助工作台', 'Jiuzhu console')}`;
  }, [entry, lang.value]);
  const [menuOpen, setMenuOpen] = useState(false);
  const [account, setAccount] = useState(false);
  return html`<div class="shell">
    <header class="topbar">
      <button type="button" class="menu-toggle" aria-label=${t('菜单', 'Menu')} onClick=${() => setMenuOpen(!menuOpen)}>☰</button>
      <a class="brand" href="#/overview"><img src=${ICON} alt="" width="24" height="24" />${t('救助工作台', 'Jiuzhu console')}</a>
      <div class="topbar-right">
        <span class="who" data-testid="who">${me.display_name}<span class="muted"> · ${label('role', me.role)} · <${UnitName} id=${me.org_unit_id} /></span></span>
        <${LangSwitch} />
        <${Button} kind="link" onClick=${() => setAccount(true)} data-testid="account-security-open">${t('账号安全', 'Account security')}<//>
        <${Button} kind="link" onClick=${() => logout()}>${t('退出', 'Log out')}<//>
      </div>
    </header>
    ${account && html`<${AccountDialog} me=${me} onClose=${() => setAccount(false)} />`}
    <nav class=${`sidebar ${menuOpen ? 'is-open' : ''}`} aria-label=${t('主菜单', 'Main menu')}>
      ${nav.map(([route, , zh, en]) => html`<a href=${`#/${route}`} class=${route === r.route ? 'is-active' : ''}
          aria-current=${route === r.route ? 'page' : undefined} onClick=${() => setMenuOpen(false)}>${t(zh, en)}</a>`)}
    </nav>
    <main class="content" id="main">
      ${entry ? html`<${ScreenHost} key=${entry[1]} name=${entry[1]} params=${r} me=${me} />` : null}
    </main>
  </div>`;
}

/** Whether two copies of the caller's account differ in nothing the console shows or decides by. */
const sameUser = (a, b) => a.id === b.id && a.role === b.role && a.org_unit_id === b.org_unit_id && a.display_name === b.display_name
  && a.second_factor === b.second_factor;

function App() {
  const s = session.value;
  // The stored user draws the shell at once; GET /me confirms it (a changed role or unit replaces it,
  // an ended session shows the log-in form). The server checks every request whatever the shell shows.
  const stored = s?.user && OFFICE.includes(s.user.role) ? s.user : null;
  const [me, setMe] = useState(stored);
  const [error, setError] = useState(null);
  const enrolling = Boolean(s?.second_factor_enrolment_required);
  useEffect(() => {
    if (!s) { setMe(null); return; }
    let live = true;
    setMe(stored);
    get('/me').then((u) => {
      if (!live) return;
      if (!OFFICE.includes(u.role)) { forget(); return; }
      setMe((old) => (old && sameUser(old, u) ? old : u));
    }, (e) => live && !stored && setError(e));
    return () => { live = false; };
  }, [s?.user?.id]);
  // The session's own user changed (a second factor turned on): the shell follows.
  useEffect(() => {
    if (stored) setMe((old) => (old && old.id === stored.id && !sameUser(old, stored) ? stored : old));
  }, [stored]);
  // Read lang so that the whole tree re-renders on a switch.
  lang.value;
  let body;
  if (!s) body = html`<${Login} />`;
  else if (enrolling && s.user) body = html`<${EnrolmentPage} user=${s.user}><${LangSwitch} /><//>`;
  else if (error) body = html`<div class="state state-error">${errorText(error)} <${Button} onClick=${() => logout()}>${t('重新登录', 'Log in again')}<//></div>`;
  else if (!me) body = html`<${Loading} />`;
  else body = html`<${Shell} me=${me} />`;
  return html`${body}<${Toasts} />`;
}

// With a session, the first screen's module loads alongside the shell rather than after it.
if (session.value) {
  const first = NAV.find(([route, , , , roles]) => route === current.value.route && roles.includes(session.value.user?.role));
  if (first) loadScreen(first[1]).catch(() => { /* ScreenHost shows the failure */ });
}

render(html`<${App} />`, document.getElementById('app'));
