// The field app's door to the server: the bearer token kept in IndexedDB (the app must open
// offline after a log-in, so sessionStorage would not do), the refresh token bound to this phone's
// device id, one refresh on a 401, and every failure turned into an error the outbox can classify.

import { signal } from '../shared/html.js';
import { getMeta, setMeta } from './store.js';

export const API = '/api/v1';

/** { access_token, refresh_token, user } or null. */
export const session = signal(null);

export async function loadSession() {
  session.value = (await getMeta('session')) ?? null;
  return session.value;
}

async function keep(pair) {
  const value = pair ? { access_token: pair.access_token, refresh_token: pair.refresh_token, user: pair.user } : null;
  await setMeta('session', value);
  session.value = value;
}

/** A stable id of this phone, made once: the server binds the refresh token to it. */
export async function deviceId() {
  let id = await getMeta('device_id');
  if (!id) {
    id = `web-${crypto.randomUUID()}`;
    await setMeta('device_id', id);
  }
  return id;
}

/** The code of a 4xx whose body is not the server's error (see errorFrom). */
const UNREADABLE = 'unreadable_answer';

/** An answer that was not 2xx, or a request that never got one (status 0, code `network`). */
export class ApiError extends Error {
  constructor(status, code, message, { retryAfter = null, details = [], headers = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.details = details;
    this.headers = headers;
  }

  /** Network failures, 5xx, 408, 429 and answers cut off are worth another try; other 4xx are not (as the SDK). */
  get retryable() {
    return this.status === 0 || this.status >= 500 || this.status === 408 || this.status === 429 || this.code === UNREADABLE;
  }
}

export async function errorFrom(res) {
  let body = null;
  try { body = JSON.parse(await res.text()); } catch { /* cut off, or not JSON */ }
  const ra = res.headers.get('Retry-After');
  if (res.status < 500 && typeof body?.error !== 'string') {
    // A refusal without the server's error body: the answer broke off before its end (the status
    // line came, the rest did not), or something on the way answered. What the server said is
    // unknown, so it is worth another try, not a reason to give up on a visit.
    return new ApiError(res.status, UNREADABLE, `服务器的回答不完整 / The server's answer was incomplete (HTTP ${res.status})`, { headers: res.headers });
  }
  return new ApiError(res.status, body?.error ?? 'internal', body?.message ?? `HTTP ${res.status}`, {
    retryAfter: ra && !Number.isNaN(Number(ra)) ? Number(ra) : null, details: body?.details ?? [], headers: res.headers,
  });
}

/**
 * How long a request waits for its answer to begin (the status line and headers) before it counts
 * as a network failure and goes back to the outbox's backoff. A connection that goes silent (a
 * proxy or a tower that drops packets without a reset) would otherwise hold a send until the app
 * is reloaded. A slow answer that has begun is read to its end: on Slow 3G a sync page can take
 * longer than this, and progress is not a hang. (The browser tests shorten it through
 * `window.JIUZHU_ANSWER_WITHIN_MS`, set before the app loads.)
 */
export const ANSWER_WITHIN_MS = Number(globalThis.JIUZHU_ANSWER_WITHIN_MS) || 60_000;

const NO_ANSWER = '服务器没有应答，稍后重试 / The server did not answer in time; will try again';

/** `fetch`, given up (TimeoutError) when no answer has begun within `ms`; `abort` aborts it any time. */
async function fetchWithin(url, init, { abort = null, ms = ANSWER_WITHIN_MS } = {}) {
  const ctl = new AbortController();
  if (abort?.aborted) ctl.abort(abort.reason);
  abort?.addEventListener('abort', () => ctl.abort(abort.reason), { once: true });
  const timer = setTimeout(() => ctl.abort(new DOMException(NO_ANSWER, 'TimeoutError')), ms);
  try {
    return await fetch(url, { ...init, signal: ctl.signal });
  } finally {
    clearTimeout(timer);
  }
}

/** A request that got no answer: why, in the words the app shows. */
function unreached(e) {
  const late = e?.name === 'TimeoutError';
  return new ApiError(0, 'network', late ? NO_ANSWER : '网络不通，请检查连接 / The server could not be reached');
}

let refreshing = null;

function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      const token = session.value?.refresh_token;
      if (!token) return false;
      const res = await fetchWithin(`${API}/auth/refresh`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: token, device_id: await deviceId() }),
      });
      if (!res.ok) return false;
      await keep(await res.json());
      return true;
    })().catch(() => false).finally(() => { refreshing = null; });
  }
  return refreshing;
}

/**
 * The raw Response of a request under /api/v1; throws ApiError unless 2xx. A plain object body is
 * sent as JSON; a Blob as it is. `signal` aborts; no answer begun within `timeoutMs` is a network
 * failure (status 0, code `network`), as a refused connection is.
 */
export async function request(method, path, { body, headers = {}, signal: abort, timeoutMs = ANSWER_WITHIN_MS } = {}) {
  const send = () => {
    const h = { ...headers };
    let payload = body;
    if (body !== undefined && body !== null && !(body instanceof Blob) && !(body instanceof ArrayBuffer) && typeof body !== 'string') {
      h['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    if (session.value?.access_token) h.Authorization = `Bearer ${session.value.access_token}`;
    return fetchWithin(`${API}${path}`, { method, headers: h, body: payload, cache: 'no-store' }, { abort, ms: timeoutMs });
  };
  let res;
  try {
    res = await send();
    if (res.status === 401 && session.value?.refresh_token && await refresh()) res = await send();
  } catch (e) {
    if (abort?.aborted) throw e;
    throw unreached(e);
  }
  if (!res.ok) throw await errorFrom(res);
  return res;
}

export async function api(method, path, options) {
  const res = await request(method, path, options);
  if (res.status === 204 || method === 'HEAD') return null;
  return res.json();
}

/** Logs in a grid worker; other roles are refused here and their session ended at once. */
export async function login(username, password) {
  let res;
  try {
    res = await fetchWithin(`${API}/auth/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password, device_id: await deviceId() }),
    });
  } catch (e) {
    throw unreached(e);
  }
  if (!res.ok) throw await errorFrom(res);
  const pair = await res.json();
  if (pair.user.role !== 'grid_worker') {
    fetch(`${API}/auth/logout`, { method: 'POST', headers: { Authorization: `Bearer ${pair.access_token}` } }).catch(() => {});
    throw new ApiError(403, 'not_a_grid_worker', '此应用仅供网格员使用 / This app is for grid workers');
  }
  await keep(pair);
  return pair.user;
}

export async function logout() {
  try {
    if (session.value) await request('POST', '/auth/logout');
  } catch { /* the session ends here whatever the server says */ }
  await keep(null);
}

export async function forgetSession() {
  await keep(null);
}
