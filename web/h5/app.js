// The citizen's self-report page (stands in for the WeChat mini-program and calls the same API):
// register a mobile number or log in, report a need with photos and a place, and follow my reports
// and my family's applications. Built for a 375×667 phone, Chinese first.

import { html, render, useState, useEffect, useRef, useErrorBoundary } from '../shared/html.js';
import { lang, setLang, t, half } from '../shared/i18n.js';
import { fmtDateTime, fmtDate } from '../shared/time.js';
import { session, call, register, verify, demoCode, login, logout } from './session.js';
import { wgs84ToGcj02 } from './crs.js';
import { shrink } from './photo.js';
import { BoundaryMap } from './map.js';
import { NEEDS, needWords, reportStatus, applicationState, categoryStatus, say } from './words.js';

const MAX_PHOTOS = 9;
const PHONE_KEY = 'jiuzhu.h5.phone';

/** A random UUID (v4); crypto.randomUUID needs a secure context, getRandomValues does not. */
export function uuid() {
  if (globalThis.crypto?.randomUUID && globalThis.isSecureContext) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function rememberPhone(phone) {
  try { localStorage.setItem(PHONE_KEY, phone.replace(/[\s-]/g, '')); } catch { /* not needed */ }
}
function rememberedPhone() {
  try { return localStorage.getItem(PHONE_KEY) ?? ''; } catch { return ''; }
}

// ---- small parts --------------------------------------------------------------------------------

function ErrorLine({ error }) {
  if (!error) return null;
  return html`<p class="error-line" role="alert">${typeof error === 'string' ? error : say(error)}</p>`;
}

function LangSwitch() {
  return html`<button type="button" class="lang" onClick=${() => setLang(lang.value === 'zh' ? 'en' : 'zh')}>
    ${lang.value === 'zh' ? 'English' : '中文'}</button>`;
}

function Header({ right }) {
  return html`<header class="top">
    <h1>${t('困难群众求助', 'Ask for help')}</h1>
    <div class="top-right">${right}<${LangSwitch} /></div>
  </header>`;
}

// ---- register, verify, log in -------------------------------------------------------------------

function Gate() {
  const [mode, setMode] = useState('register');
  return html`<div class="page">
    <${Header} />
    <main class="main">
      <p class="intro">${t('遇到生活困难，可以在这里向社区求助。网格员会上门了解情况，帮助您申请救助。',
        'If you are in difficulty, ask your community for help here. A grid worker will visit and help you apply.')}</p>
      <div class="tabs" role="tablist">
        <button type="button" role="tab" aria-selected=${mode === 'register'} class=${mode === 'register' ? 'tab is-on' : 'tab'}
          onClick=${() => setMode('register')}>${t('注册', 'Register')}</button>
        <button type="button" role="tab" aria-selected=${mode === 'login'} class=${mode === 'login' ? 'tab is-on' : 'tab'}
          onClick=${() => setMode('login')}>${t('登录', 'Log in')}</button>
      </div>
      ${mode === 'register' ? html`<${Register} />` : html`<${Login} />`}
    </main>
  </div>`;
}

function Register() {
  const [phone, setPhone] = useState('');
  const [password, setPassword] = useState('');
  const [sent, setSent] = useState(null); // {phone_masked, expires_in_secs, phone}
  const [code, setCode] = useState('');
  const [demo, setDemo] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  const send = async (ev) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await register(phone, password);
      setSent({ ...answer, phone });
      setDemo(await demoCode(phone));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const check = async (ev) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      rememberPhone(sent.phone); // before the page turns: the report form offers it as the contact number
      await verify(sent.phone, code.trim());
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  if (!sent) {
    return html`<form class="card stack" onSubmit=${send} data-testid="register-form">
      <label class="field"><span>${t('手机号码', 'Mobile number')}</span>
        <input name="phone" type="tel" inputmode="numeric" autocomplete="tel" maxlength="20" required value=${phone}
          placeholder=${t('11位手机号', '11 digits')} onInput=${(e) => setPhone(e.currentTarget.value)} /></label>
      <label class="field"><span>${t('设置密码', 'Choose a password')}</span>
        <input name="password" type="password" autocomplete="new-password" required value=${password}
          placeholder=${t('至少8位', 'At least 8 characters')} onInput=${(e) => setPassword(e.currentTarget.value)} /></label>
      <${ErrorLine} error=${error} />
      <button type="submit" class="btn btn-primary" disabled=${busy}>${busy ? t('正在发送…', 'Sending…') : t('获取验证码', 'Send me a code')}</button>
    </form>`;
  }
  const minutes = Math.round((sent.expires_in_secs ?? 600) / 60);
  return html`<form class="card stack" onSubmit=${check} data-testid="verify-form">
    <p>${t(`验证码已发送至 ${sent.phone_masked}，${minutes} 分钟内有效。`, `A code was sent to ${sent.phone_masked}; it is valid for ${minutes} min.`)}</p>
    ${demo ? html`<div class="demo" data-testid="demo-code">
      <span class="badge">${t('演示', 'Demo')}</span>
      <span>${t('演示环境不发短信，验证码是', 'The demo sends no SMS; the code is')} <b class="mono">${demo}</b></span>
      <button type="button" class="btn btn-small" onClick=${() => setCode(demo)}>${t('填入', 'Fill in')}</button>
    </div>` : null}
    <label class="field"><span>${t('短信验证码', 'Code from the SMS')}</span>
      <input name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required value=${code}
        onInput=${(e) => setCode(e.currentTarget.value)} /></label>
    <${ErrorLine} error=${error} />
    <button type="submit" class="btn btn-primary" disabled=${busy}>${t('验证并登录', 'Verify and log in')}</button>
    <button type="button" class="btn btn-link" onClick=${() => { setSent(null); setCode(''); setDemo(null); setError(null); }}>
      ${t('改手机号或重新获取验证码', 'Change the number or get a new code')}</button>
  </form>`;
}

function Login() {
  const [phone, setPhone] = useState(rememberedPhone());
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (ev) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      rememberPhone(phone);
      await login(phone.replace(/[\s-]/g, ''), password);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return html`<form class="card stack" onSubmit=${submit} data-testid="login-form">
    <label class="field"><span>${t('手机号码', 'Mobile number')}</span>
      <input name="phone" type="tel" inputmode="numeric" autocomplete="tel" required value=${phone}
        onInput=${(e) => setPhone(e.currentTarget.value)} /></label>
    <label class="field"><span>${t('密码', 'Password')}</span>
      <input name="password" type="password" autocomplete="current-password" required value=${password}
        onInput=${(e) => setPassword(e.currentTarget.value)} /></label>
    <${ErrorLine} error=${error} />
    <button type="submit" class="btn btn-primary" disabled=${busy}>${t('登录', 'Log in')}</button>
  </form>`;
}

// ---- the report ---------------------------------------------------------------------------------

/** Words for a GPS failure (GeolocationPositionError codes 1–3, or none at all). */
function gpsError(e) {
  if (!navigator.geolocation) return t('此浏览器无法定位，请在地图上选点', 'This browser cannot locate you: pick on the map');
  if (e?.code === 1) {
    return window.isSecureContext
      ? t('您未允许定位，请在设置中允许，或在地图上选点', 'Location was not allowed: allow it, or pick on the map')
      : t('此页面未通过安全连接（HTTPS）打开，手机不允许定位，请在地图上选点', 'Not opened over HTTPS, so the phone will not locate: pick on the map');
  }
  if (e?.code === 3) return t('定位超时，请到开阔处重试，或在地图上选点', 'Locating took too long: try again outdoors, or pick on the map');
  return t('暂时无法定位，请重试或在地图上选点', 'Cannot locate now: retry or pick on the map');
}

function Place({ place, locating }) {
  if (locating) return html`<p class="place muted">${t('正在确认位置…', 'Checking the place…')}</p>`;
  if (!place) return null;
  if (place.error) return html`<p class="place place-bad" role="alert" data-testid="place">${say(place.error)}</p>`;
  const a = place.answer;
  if (!a.inside_city) {
    return html`<div class="place place-bad" role="alert" data-testid="place">
      <b>${t('这个位置不在本市范围内', 'This place is outside the city')}</b>
      <p>${t('系统查询结果：该点不属于本市任何区、街道、社区或网格，网格员无法上门核实。请确认位置是否正确；如果您确实在外地，请联系户籍所在地社区。',
        'The server says the point is in no district, street, community or grid of this city, so no grid worker can visit. Check the place; if you are away, contact the community where you are registered.')}</p>
    </div>`;
  }
  const chain = [a.community, a.street, a.district].filter(Boolean).map((u) => u.name).join(' · ');
  if (!a.grid) {
    return html`<div class="place place-warn" data-testid="place">
      <b>${t('位置在本市，但不在任何网格内', 'Inside the city, but in no grid')}</b>
      <p>${chain ? `${chain}。` : ''}${t('您的求助会先交给市里统一安排。', 'Your report will be handled by the city first.')}</p>
    </div>`;
  }
  return html`<div class="place place-ok" data-testid="place">
    <b>${a.grid.name}</b><p>${chain}</p>
    <p class="muted">${t('将由该网格的网格员上门核实。', 'The grid worker of this grid will visit.')}</p>
  </div>`;
}

function PhotoPicker({ photos, setPhotos, disabled }) {
  const [error, setError] = useState(null);
  const [working, setWorking] = useState(false);
  const input = useRef(null);
  const add = async (ev) => {
    const files = [...(ev.currentTarget.files ?? [])];
    ev.currentTarget.value = '';
    setError(null);
    setWorking(true);
    const added = [];
    for (const file of files.slice(0, MAX_PHOTOS - photos.length)) {
      try {
        const s = await shrink(file);
        added.push({ id: uuid(), blob: s.blob, width: s.width, height: s.height, url: URL.createObjectURL(s.blob), uploaded: false });
      } catch {
        setError(t('有照片无法读取，请换一张', 'A photo could not be read: choose another'));
      }
    }
    if (files.length > MAX_PHOTOS - photos.length) setError(t(`最多${MAX_PHOTOS}张照片`, `At most ${MAX_PHOTOS} photos`));
    setPhotos((list) => [...list, ...added]);
    setWorking(false);
  };
  const remove = (id) => setPhotos((list) => {
    const gone = list.find((p) => p.id === id);
    if (gone) URL.revokeObjectURL(gone.url);
    return list.filter((p) => p.id !== id);
  });
  return html`<div class="photos">
    <ul class="thumbs">
      ${photos.map((p) => html`<li key=${p.id} class="thumb" data-testid="photo">
        <img src=${p.url} alt=${t('照片', 'Photo')} />
        <span class="thumb-size">${p.width}×${p.height} · ${Math.round(p.blob.size / 1024)} KB</span>
        <button type="button" class="thumb-x" aria-label=${t('删除照片', 'Remove the photo')} disabled=${disabled} onClick=${() => remove(p.id)}>×</button>
      </li>`)}
      ${photos.length < MAX_PHOTOS ? html`<li class="thumb thumb-add">
        <button type="button" class="add-photo" disabled=${disabled || working} onClick=${() => input.current?.click()}>
          ${working ? t('处理中…', 'Working…') : t('＋ 添加照片', '+ Add photos')}</button>
      </li>` : null}
    </ul>
    <input ref=${input} class="hidden" type="file" accept="image/*" multiple name="photos" onChange=${add} />
    <${ErrorLine} error=${error} />
  </div>`;
}

/** A photo the server would not take: said as such, so the citizen knows to retry or remove it. */
class PhotoFailed extends Error {
  constructor(cause) {
    super(cause?.message);
    this.cause = cause;
  }
}

function ReportForm({ onDone }) {
  const [need, setNeed] = useState(null);
  const [description, setDescription] = useState('');
  const [photos, setPhotos] = useState([]);
  const [point, setPoint] = useState(null); // WGS-84 {lat, lon, accuracy?, source}
  const [place, setPlace] = useState(null); // {answer} or {error}
  const [locating, setLocating] = useState(false);
  const [gpsMessage, setGpsMessage] = useState(null);
  const [showMap, setShowMap] = useState(false);
  const [address, setAddress] = useState('');
  const [contact, setContact] = useState(rememberedPhone());
  const [sending, setSending] = useState(null); // words of the step in progress
  const [error, setError] = useState(null);
  const reportId = useRef(uuid()); // one id per report: a retry never makes a second one
  const lookup = useRef(0);

  /** Where a WGS-84 point is, asked as a mini-program would: in GCJ-02. */
  const locate = async (p) => {
    setPoint(p);
    setPlace(null);
    setLocating(true);
    const n = ++lookup.current;
    const g = wgs84ToGcj02(p.lat, p.lon);
    try {
      const answer = await call('GET', '/geo/locate', { query: { lat: g.lat.toFixed(7), lon: g.lon.toFixed(7), crs: 'gcj02' } });
      if (n === lookup.current) setPlace({ answer });
    } catch (e) {
      if (n === lookup.current) setPlace({ error: e });
    } finally {
      if (n === lookup.current) setLocating(false);
    }
  };

  const useGps = () => {
    setGpsMessage(null);
    if (!navigator.geolocation) {
      setGpsMessage(gpsError(null));
      return;
    }
    setLocating(true);
    navigator.geolocation.getCurrentPosition(
      (pos) => locate({ lat: pos.coords.latitude, lon: pos.coords.longitude, accuracy: pos.coords.accuracy, source: 'gps' }),
      (e) => { setLocating(false); setGpsMessage(gpsError(e)); },
      { enableHighAccuracy: true, timeout: 20_000, maximumAge: 30_000 },
    );
  };

  const highlight = place?.answer?.grid ? [place.answer.grid.id] : [];

  const submit = async (ev) => {
    ev.preventDefault();
    setError(null);
    if (description.trim().length === 0) return setError(t('请说一说遇到了什么困难', 'Please describe the difficulty'));
    if (!point) return setError(t('请提供位置：使用我的位置，或在地图上选点', 'Give a place: use your position or pick on the map'));
    try {
      const todo = photos.filter((p) => !p.uploaded);
      for (let i = 0; i < todo.length; i++) {
        setSending(t(`正在上传照片 ${i + 1}/${todo.length}…`, `Uploading photo ${i + 1} of ${todo.length}…`));
        // The photo's UUID is made on the phone: sending it again after a failure is a harmless replay.
        try {
          await call('PUT', `/photos/${todo[i].id}`, { body: todo[i].blob });
        } catch (e) {
          throw new PhotoFailed(e);
        }
        todo[i].uploaded = true;
      }
      setSending(t('正在提交…', 'Sending…'));
      const g = wgs84ToGcj02(point.lat, point.lon);
      const report = await call('POST', '/self-reports', {
        body: {
          id: reportId.current,
          description: description.trim(),
          category_hint: need,
          location: { lat: Number(g.lat.toFixed(7)), lon: Number(g.lon.toFixed(7)), crs: 'gcj02' },
          address: address.trim(),
          photo_ids: photos.map((p) => p.id),
          contact_phone: contact.trim(),
        },
      });
      for (const p of photos) URL.revokeObjectURL(p.url);
      onDone(report);
    } catch (e) {
      setError(e instanceof PhotoFailed
        ? t(`照片上传失败：${say(e.cause)}。可以稍后重试，或删除照片后提交。`, `A photo could not be sent: ${say(e.cause)}. Retry later, or remove it and send.`)
        : e);
      setSending(null);
    }
  };

  const busy = sending !== null;
  return html`<form class="stack" onSubmit=${submit} data-testid="report-form">
    <section class="card stack">
      <h2>${t('遇到了什么困难？', 'What is the difficulty?')}</h2>
      <div class="chips" role="radiogroup" aria-label=${t('困难类型', 'Kind of difficulty')}>
        ${NEEDS.map(([value]) => html`<button type="button" key=${value} role="radio" aria-checked=${need === value}
          class=${need === value ? 'chip is-on' : 'chip'} disabled=${busy} onClick=${() => setNeed(need === value ? null : value)}>${needWords(value)}</button>`)}
      </div>
      <label class="field"><span>${t('情况说明', 'What happened')}</span>
        <textarea name="description" rows="4" maxlength="2000" disabled=${busy} value=${description}
          placeholder=${t('例如：家里老人生病住院，医药费负担不起。', 'E.g. my mother is in hospital and we cannot pay.')}
          onInput=${(e) => setDescription(e.currentTarget.value)}></textarea></label>
    </section>

    <section class="card stack">
      <h2>${t('照片（可选）', 'Photos (optional)')}</h2>
      <${PhotoPicker} photos=${photos} setPhotos=${setPhotos} disabled=${busy} />
    </section>

    <section class="card stack">
      <h2>${t('您在哪里？', 'Where are you?')}</h2>
      <div class="row2">
        <button type="button" class="btn" disabled=${busy || locating} onClick=${useGps} data-testid="use-gps">${t('使用我的位置', 'Use my position')}</button>
        <button type="button" class="btn" disabled=${busy} onClick=${() => setShowMap(!showMap)} data-testid="pick-on-map">
          ${showMap ? t('收起地图', 'Hide the map') : t('在地图上选点', 'Pick on the map')}</button>
      </div>
      ${gpsMessage ? html`<p class="error-line" role="alert">${gpsMessage}</p>` : null}
      ${point?.source === 'gps' && point.accuracy ? html`<p class="muted">${t(`已定位，精度约 ${Math.round(point.accuracy)} 米`, `Located to about ${Math.round(point.accuracy)} m`)}</p>` : null}
      ${showMap ? html`<${BoundaryMap} point=${point} highlight=${highlight} onPick=${(lat, lon) => locate({ lat, lon, source: 'map' })} />` : null}
      <${Place} place=${place} locating=${locating} />
      <label class="field"><span>${t('详细地址（可选）', 'Address (optional)')}</span>
        <input name="address" maxlength="200" disabled=${busy} value=${address} placeholder=${t('小区、楼栋、门牌号', 'Estate, building, flat')}
          onInput=${(e) => setAddress(e.currentTarget.value)} /></label>
      <label class="field"><span>${t('联系电话', 'Contact number')}</span>
        <input name="contact_phone" type="tel" inputmode="numeric" maxlength="20" required disabled=${busy} value=${contact}
          onInput=${(e) => setContact(e.currentTarget.value)} /></label>
    </section>

    <${ErrorLine} error=${error} />
    <button type="submit" class="btn btn-primary btn-big" disabled=${busy} data-testid="send-report">${sending ?? t('提交求助', 'Send')}</button>
    <p class="muted small">${t('您提供的信息仅用于核实困难情况，工作人员会依法保护您的隐私。', 'What you give is used only to check your situation and is kept private by law.')}</p>
  </form>`;
}

function Sent({ report, onMore, onMine }) {
  const s = reportStatus(report.status);
  return html`<section class="card stack sent" data-testid="report-sent">
    <h2>✓ ${t('求助已提交', 'Your report was sent')}</h2>
    <p><span class=${`status status-${report.status}`}>${s.title}</span></p>
    <p>${s.next}</p>
    <div class="row2">
      <button type="button" class="btn btn-primary" onClick=${onMine}>${t('查看办理进度', 'See progress')}</button>
      <button type="button" class="btn" onClick=${onMore}>${t('再报一件', 'Report another')}</button>
    </div>
  </section>`;
}

// ---- my reports and applications ----------------------------------------------------------------

function Mine() {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const load = async () => {
    setError(null);
    try {
      const [reports, applications] = await Promise.all([call('GET', '/my/self-reports'), call('GET', '/my/applications')]);
      setData({ reports, applications });
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => { load(); }, []);
  if (error) return html`<div class="card"><${ErrorLine} error=${error} /><button type="button" class="btn" onClick=${load}>${t('重试', 'Retry')}</button></div>`;
  if (!data) return html`<p class="muted center">${t('加载中…', 'Loading…')}</p>`;
  return html`<div class="stack">
    <section class="stack" data-testid="my-reports">
      <h2 class="section-title">${t('我的求助', 'My reports')}</h2>
      ${data.reports.length === 0 ? html`<p class="card muted">${t('还没有求助记录。', 'No reports yet.')}</p>` : null}
      ${data.reports.map((r) => {
        const s = reportStatus(r.status);
        return html`<article class="card item" key=${r.id} data-testid="my-report">
          <div class="item-head"><b>${needWords(r.category_hint)}</b><span class=${`status status-${r.status}`}>${s.title}</span></div>
          <p>${s.next}</p>
          ${r.public_note ? html`<p class="note">${half(r.public_note)}</p>` : null}
          <p class="muted small">${t('提交于', 'Sent')} ${fmtDateTime(r.created_at)}</p>
        </article>`;
      })}
    </section>
    <section class="stack" data-testid="my-applications">
      <h2 class="section-title">${t('我家的救助申请', 'My family\'s applications')}</h2>
      ${data.applications.length === 0 ? html`<p class="card muted">${t('暂无救助申请。网格员核实情况后，符合条件的会帮您提出申请。',
        'No applications yet. After the visit, the grid worker helps you apply if you qualify.')}</p>` : null}
      ${data.applications.map((a) => {
        const s = applicationState(a.state);
        return html`<article class="card item" key=${a.id} data-testid="my-application">
          <div class="item-head"><b>${a.categories.map((c) => needWords(c.category)).join('、') || t('救助申请', 'Application')}</b>
            <span class=${`status status-app-${a.state}`}>${s.title}</span></div>
          <p>${s.next}</p>
          ${a.categories.length > 1 ? html`<ul class="plain">${a.categories.map((c) => html`<li>${needWords(c.category)}：${categoryStatus(c.status)}</li>`)}</ul>` : null}
          ${a.steps.length ? html`<ol class="steps">${a.steps.map((st) => html`<li>
            <span class="muted small">${fmtDate(st.at)}</span> ${applicationState(st.to).title}${st.public_note ? html`：${half(st.public_note)}` : null}</li>`)}</ol>` : null}
          <p class="muted small">${t('提出于', 'Submitted')} ${fmtDate(a.submitted_at)}</p>
        </article>`;
      })}
    </section>
    <button type="button" class="btn" onClick=${load}>${t('刷新', 'Refresh')}</button>
  </div>`;
}

// ---- the shell ----------------------------------------------------------------------------------

function Home() {
  const [tab, setTab] = useState('report');
  const [sent, setSent] = useState(null);
  const [formKey, setFormKey] = useState(0);
  const who = session.value?.user?.display_name ?? '';
  return html`<div class="page">
    <${Header} right=${html`<span class="who" data-testid="who">${who}</span>
      <button type="button" class="btn-link top-link" onClick=${logout}>${t('退出', 'Log out')}</button>`} />
    <main class="main">
      ${tab === 'report' ? (sent
        ? html`<${Sent} report=${sent} onMore=${() => { setSent(null); setFormKey((k) => k + 1); }} onMine=${() => { setSent(null); setFormKey((k) => k + 1); setTab('mine'); }} />`
        : html`<${ReportForm} key=${formKey} onDone=${setSent} />`)
        : html`<${Mine} />`}
    </main>
    <nav class="bottom" role="tablist">
      <button type="button" role="tab" aria-selected=${tab === 'report'} class=${tab === 'report' ? 'is-on' : ''} onClick=${() => setTab('report')}>
        <span aria-hidden="true">✎</span>${t('我要求助', 'Ask for help')}</button>
      <button type="button" role="tab" aria-selected=${tab === 'mine'} class=${tab === 'mine' ? 'is-on' : ''} onClick=${() => setTab('mine')}>
        <span aria-hidden="true">☰</span>${t('办理进度', 'Progress')}</button>
    </nav>
  </div>`;
}

function App() {
  const [failure, reset] = useErrorBoundary();
  if (failure) {
    return html`<div class="page"><${Header} /><main class="main"><div class="card stack">
      <p class="error-line">${t('页面出错了，请重试。', 'Something went wrong: try again.')}</p>
      <button type="button" class="btn" onClick=${reset}>${t('重试', 'Retry')}</button></div></main></div>`;
  }
  void lang.value; // re-render on a language switch
  return session.value?.user ? html`<${Home} />` : html`<${Gate} />`;
}

const root = document.getElementById('app');
root.textContent = ''; // the static "loading" line
render(html`<${App} />`, root);
