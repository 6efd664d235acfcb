// The console's only door to the server: fetch under /api/v1 with the bearer token, one refresh on a
// 401, and every non-2xx answer turned into an ApiError carrying the API's stable error code.
//
// Tokens live in sessionStorage: a closed tab logs out, and another tab logs in on its own.
//
// A request belongs to the session it was sent under. When that session has ended (log-out, or another
// user logged in) by the time its answer comes, a 401 neither refreshes nor ends the new session: it is
// the old session's business, answered with ApiError `session_ended`.
//
// A session the server opens to nothing but enrolling a second factor (an admin without one, where
// one is required) carries `second_factor_enrolment_required`: from the log-in's answer, or from any
// 403 of that code (a stored session after a reload).

import { signal } from './html.js';

export const API = '/api/v1';
const STORE = 'jiuzhu.session';

/** The signed-in user (the API's `User`), or null. Screens read `session.value?.user`. */
export const session = signal(readStored());

function readStored() {
  try {
    const raw = sessionStorage.getItem(STORE);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

/** Bumps when a session begins or ends; a refresh keeps it. */
let generation = 0;
/** Requests sent and not yet answered, so that a log-out can let them finish before it revokes. */
const inFlight = new Set();

function store(pair, { renewal = false } = {}) {
  if (!renewal) generation++;
  // A renewed pair that does not say keeps what the session knew about a second factor to enrol.
  const enrol = pair?.second_factor_enrolment_required ?? (renewal && session.value?.second_factor_enrolment_required);
  const value = pair ? {
    access_token: pair.access_token,
    refresh_token: pair.refresh_token,
    access_expires_at: pair.access_expires_at,
    user: pair.user,
    ...(enrol ? { second_factor_enrolment_required: true } : {}),
  } : null;
  if (value) sessionStorage.setItem(STORE, JSON.stringify(value));
  else sessionStorage.removeItem(STORE);
  session.value = value;
}

/** Changes the session kept here (same tokens, same session): its user, or whether it must enrol. */
function amend({ user, enrol }) {
  const s = session.value;
  if (!s) return;
  const value = { ...s, user: user ?? s.user };
  if (enrol === true) value.second_factor_enrolment_required = true;
  if (enrol === false) delete value.second_factor_enrolment_required;
  sessionStorage.setItem(STORE, JSON.stringify(value));
  session.value = value;
}

/**
 * The account's second factor is confirmed (`user` is the API's answer): the session becomes an
 * ordinary one, with no new log-in.
 */
export function secondFactorEnrolled(user) {
  amend({ user, enrol: false });
}

/** An answer that was not 2xx, or a request that never got one (status 0, code `network`). */
export class ApiError extends Error {
  constructor(status, code, message, { retryAfter = null, details = [], body = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.details = details;
    this.body = body;
  }
}

/** `qs({a: 1, b: null, c: [1, 2]})` → `?a=1&c=1%2C2`; empty, null and undefined values are left out. */
export function qs(params = {}) {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '') continue;
    s.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const text = s.toString();
  return text ? `?${text}` : '';
}

async function errorFrom(res) {
  let body = null;
  try {
    body = await res.json();
  } catch { /* not JSON: a proxy's page, say */ }
  const ra = res.headers.get('Retry-After');
  return new ApiError(
    res.status,
    body?.error ?? (res.status >= 500 ? 'internal' : 'unknown'),
    body?.message ?? `HTTP ${res.status}`,
    { retryAfter: ra !== null && ra !== '' && !Number.isNaN(Number(ra)) ? Number(ra) : null, details: body?.details ?? [], body },
  );
}

let refreshing = null;

/** The server's answer to trading a refresh token for a new pair. */
const renew = (refreshToken) => fetch(`${API}/auth/refresh`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ refresh_token: refreshToken }),
});

/** Trades the refresh token for a new pair once, however many requests saw the 401 at the same time. */
function refresh() {
  if (!refreshing) {
    const token = session.value?.refresh_token;
    refreshing = (async () => {
      if (!token) return false;
      const res = await renew(token);
      if (!res.ok) return false;
      const pair = await res.json();
      // A log-out or another log-in while the refresh was on its way: the new pair is not wanted.
      if (session.value?.refresh_token !== token) return false;
      store(pair, { renewal: true });
      return true;
    })().catch(() => false).finally(() => { refreshing = null; });
  }
  return refreshing;
}

/**
 * The raw Response of a request under /api/v1 (for blobs and downloads); throws ApiError unless 2xx.
 * `body` may be a plain object (sent as JSON), FormData, a Blob/File or a string (sent as is).
 */
export async function request(method, path, { body, headers = {}, signal: abort, auth = true } = {}) {
  const send = () => {
    const h = { ...headers };
    let payload = body;
    if (body !== undefined && body !== null && !(body instanceof FormData) && !(body instanceof Blob)
        && typeof body !== 'string' && !(body instanceof ArrayBuffer)) {
      h['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const token = session.value?.access_token;
    if (auth && token) h.Authorization = `Bearer ${token}`;
    return fetch(path.startsWith('/') && !path.startsWith(API) ? `${API}${path}` : path, {
      method, headers: h, body: payload, signal: abort,
    });
  };
  const sentUnder = generation;
  const stale = () => new ApiError(401, 'session_ended', '会话已结束 / The session has ended');
  let res;
  const pending = (async () => {
    try {
      const token = session.value?.access_token;
      res = await send();
      if (res.status === 401 && auth && sentUnder === generation) {
        if (session.value?.access_token && session.value.access_token !== token) res = await send(); // renewed meanwhile
        else if (session.value?.refresh_token && await refresh()) res = await send();
      }
    } catch (e) {
      if (e?.name === 'AbortError') throw e;
      throw new ApiError(0, 'network', '网络不通，请检查连接 / The server could not be reached');
    }
  })();
  inFlight.add(pending);
  try {
    await pending;
  } finally {
    inFlight.delete(pending);
  }
  if (res.status === 401 && auth) {
    if (sentUnder !== generation) throw stale();
    const err = await errorFrom(res);
    store(null); // the session is over: the log-in gate shows again
    throw err;
  }
  if (!res.ok) {
    const err = await errorFrom(res);
    // The server lets this session enrol a second factor and nothing else (an admin without one).
    if (err.code === 'second_factor_enrolment_required' && auth && sentUnder === generation) amend({ enrol: true });
    throw err;
  }
  return res;
}

/** JSON answer of a request under /api/v1 (null for 204). */
export async function api(method, path, options) {
  const res = await request(method, path, options);
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') ?? '';
  return type.includes('json') ? res.json() : res.text();
}

export const get = (path, params, options) => api('GET', `${path}${qs(params)}`, options);
export const post = (path, body, options) => api('POST', path, { ...options, body });
export const put = (path, body, options) => api('PUT', path, { ...options, body });
export const patch = (path, body, options) => api('PATCH', path, { ...options, body });

/** Every item of a paged list, following `next` (bounded so that a mistake cannot loop forever). */
export async function getAll(path, params = {}, { maxPages = 50, limit = 200 } = {}) {
  const items = [];
  let after = null;
  for (let i = 0; i < maxPages; i++) {
    const page = await get(path, { ...params, limit, after });
    items.push(...(page.items ?? []));
    if (!page.next) break;
    after = page.next;
  }
  return items;
}

/** A Blob from an authenticated GET (photos, exports). */
export async function blob(path, params) {
  const res = await request('GET', `${path}${qs(params)}`);
  return res.blob();
}

/** An object URL for an authenticated image; the caller revokes it when done. */
export async function objectUrl(path, params) {
  return URL.createObjectURL(await blob(path, params));
}

/** Downloads an authenticated GET as a file, named by the server's Content-Disposition when it gives one. */
export async function download(path, params, fallbackName = 'download') {
  const res = await request('GET', `${path}${qs(params)}`);
  const name = filenameFrom(res.headers.get('Content-Disposition')) ?? fallbackName;
  const data = await res.blob();
  const url = URL.createObjectURL(data);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return { name, size: data.size, type: data.type };
}

export function filenameFrom(disposition) {
  if (!disposition) return null;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(disposition);
  if (star) {
    try { return decodeURIComponent(star[1].trim()); } catch { /* fall through */ }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/.exec(disposition);
  return plain ? plain[1].trim() : null;
}

/**
 * Logs in. `accept(user)` decides whether this client keeps the session: when it answers false (a role
 * the page does not serve), the new session is ended on the server at once and never stored.
 * `code` is the authenticator app's six digits, for an account with a second factor.
 * Returns { user, accepted }. Throws ApiError (invalid_credentials, account_locked, rate_limited,
 * second_factor_required when the account needs a code and none was sent, second_factor_invalid...).
 * The session's `second_factor_enrolment_required` says the server opens nothing but enrolment to it.
 */
export async function login(username, password, { accept = () => true, code } = {}) {
  const body = { username, password, ...(code ? { second_factor_code: code } : {}) };
  const pair = await api('POST', '/auth/login', { body, auth: false });
  if (!accept(pair.user)) {
    try {
      await fetch(`${API}/auth/logout`, { method: 'POST', headers: { Authorization: `Bearer ${pair.access_token}` } });
    } catch { /* the access token expires on its own */ }
    return { user: pair.user, accepted: false };
  }
  store(pair);
  return { user: pair.user, accepted: true };
}

/**
 * Logs out: the session ends here at once (the log-in gate shows and nothing more is sent under it),
 * the requests already sent are given up to two seconds to finish, then the server revokes the tokens.
 */
export async function logout() {
  const ending = session.value;
  store(null);
  if (!ending) return;
  await Promise.race([
    Promise.allSettled([...inFlight]),
    new Promise((resolve) => { setTimeout(resolve, 2_000); }),
  ]);
  try {
    const revoke = (access) => fetch(`${API}/auth/logout`, { method: 'POST', headers: { Authorization: `Bearer ${access}` } });
    const res = await revoke(ending.access_token);
    if (res.status === 401 && ending.refresh_token) {
      // The access token ran out: renew once, only to revoke the whole family.
      const renewed = await renew(ending.refresh_token);
      if (renewed.ok) await revoke((await renewed.json()).access_token);
    }
  } catch { /* the tokens expire on their own */ }
}

/** Ends the session locally (for a user the console does not serve). */
export function forget() {
  store(null);
}
