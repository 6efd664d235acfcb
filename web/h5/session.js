// The citizen's session and the page's door to /api/v1. Unlike the console (sessionStorage, an office
// PC), the page keeps its token pair in localStorage: it stands in for a mini-program, which stays
// logged in on the citizen's own phone until they log out. Errors are the shared ApiError, so the
// shared i18n turns their codes into words.

import { signal } from '../shared/html.js';
import { API, ApiError, qs } from '../shared/api.js';

const STORE = 'jiuzhu.h5.session';

function readStored() {
  try {
    const raw = localStorage.getItem(STORE);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

/** {access_token, refresh_token, user} of the logged-in citizen, or null. */
export const session = signal(readStored());

function store(pair) {
  const value = pair ? { access_token: pair.access_token, refresh_token: pair.refresh_token, user: pair.user } : null;
  try {
    if (value) localStorage.setItem(STORE, JSON.stringify(value));
    else localStorage.removeItem(STORE);
  } catch { /* storage refused: the session lives as long as the page */ }
  session.value = value;
}

async function errorFrom(res) {
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  const ra = res.headers.get('Retry-After');
  return new ApiError(res.status, body?.error ?? (res.status >= 500 ? 'internal' : 'unknown'), body?.message ?? `HTTP ${res.status}`, {
    retryAfter: ra && !Number.isNaN(Number(ra)) ? Number(ra) : null, details: body?.details ?? [], body,
  });
}

let refreshing = null;

/** One refresh however many requests saw the 401; false when the refresh token is spent. */
function refresh() {
  if (!refreshing) {
    const token = session.value?.refresh_token;
    refreshing = (async () => {
      if (!token) return false;
      const res = await fetch(`${API}/auth/refresh`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refresh_token: token }),
      });
      if (!res.ok) return false;
      store(await res.json());
      return true;
    })().catch(() => false).finally(() => { refreshing = null; });
  }
  return refreshing;
}

/**
 * A request under /api/v1; the JSON answer (null for 204). `body`: a plain object (JSON) or a Blob
 * (sent as is, with its type). Throws ApiError; a 401 that a refresh cannot mend ends the session.
 */
export async function call(method, path, { body, auth = true, query } = {}) {
  const send = () => {
    const headers = {};
    let payload = body;
    if (body instanceof Blob) headers['Content-Type'] = body.type || 'application/octet-stream';
    else if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const token = session.value?.access_token;
    if (auth && token) headers.Authorization = `Bearer ${token}`;
    return fetch(`${API}${path}${qs(query)}`, { method, headers, body: payload });
  };
  let res;
  try {
    res = await send();
    if (res.status === 401 && auth && session.value?.refresh_token && await refresh()) res = await send();
  } catch {
    throw new ApiError(0, 'network', '网络不通，请检查连接 / The server could not be reached');
  }
  if (!res.ok) {
    const err = await errorFrom(res);
    if (res.status === 401 && auth) store(null);
    throw err;
  }
  if (res.status === 204) return null;
  return (res.headers.get('Content-Type') ?? '').includes('json') ? res.json() : res.text();
}

/** Registers a number with a password; the server sends a code. Answers {phone_masked, expires_in_secs}. */
export const register = (phone, password) => call('POST', '/citizen/register', { body: { phone, password }, auth: false });

/** Checks the code; the account is active and logged in. */
export async function verify(phone, code) {
  store(await call('POST', '/citizen/verify', { body: { phone, code }, auth: false }));
}

/**
 * The demo server's code for a number (`serve --demo` only), or null: any other server answers 404
 * and the page shows nothing. A plain fetch, so the expected 404 is not an error anywhere.
 */
export async function demoCode(phone) {
  try {
    const res = await fetch(`${API}/demo/sms-code${qs({ phone })}`);
    if (!res.ok) return null;
    const body = await res.json();
    return typeof body?.code === 'string' ? body.code : null;
  } catch {
    return null;
  }
}

/** Logs in with the number and password. Only citizens keep the session here. */
export async function login(phone, password) {
  const pair = await call('POST', '/auth/login', { body: { username: phone, password }, auth: false });
  if (pair.user?.role !== 'citizen') {
    try {
      await fetch(`${API}/auth/logout`, { method: 'POST', headers: { Authorization: `Bearer ${pair.access_token}` } });
    } catch { /* it expires on its own */ }
    throw new ApiError(403, 'not_a_citizen', '此页面供居民使用，工作人员请使用工作台或网格员应用 / this page is for citizens');
  }
  store(pair);
}

export async function logout() {
  try {
    if (session.value) await call('POST', '/auth/logout');
  } catch { /* the session ends here whatever the server says */ }
  store(null);
}
