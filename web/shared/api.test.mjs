// The API door's sessions, in Node with a scripted fetch: a 401 renews the session once; a request of a
// session that has since ended neither renews nor ends the session that replaced it; a log-out ends the
// session here at once and revokes it on the server only after the requests already sent are answered.
// A second factor: the code goes with the log-in; a session the server opens to enrolment only says so
// (from the log-in's answer or a 403), through a renewal, until the enrolment is confirmed.

import { test } from 'node:test';
import assert from 'node:assert/strict';

const stored = new Map();
globalThis.sessionStorage = {
  getItem: (k) => stored.get(k) ?? null,
  setItem: (k, v) => stored.set(k, String(v)),
  removeItem: (k) => stored.delete(k),
};

/** The server as a script: each call is recorded, and `answer(call)` gives its Response (or a promise). */
const calls = [];
let answer = () => new Response(null, { status: 204 });
globalThis.fetch = async (url, init = {}) => {
  const call = { url: String(url), method: init.method ?? 'GET', auth: init.headers?.Authorization ?? null, body: init.body ?? null };
  calls.push(call);
  return answer(call);
};
const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
const pair = (name) => ({ access_token: `${name}-access`, refresh_token: `${name}-refresh`, access_expires_at: '2026-12-07T00:00:00Z', user: { id: name, role: 'street_officer' } });

const { session, login, logout, get, post, ApiError, secondFactorEnrolled } = await import('./api.js');

async function loginAs(name) {
  answer = () => json(200, pair(name));
  await login(name, 'pw');
  calls.length = 0;
}

test('a 401 under the current session renews it once and sends again', async () => {
  await loginAs('a');
  answer = (c) => {
    if (c.url.endsWith('/auth/refresh')) return json(200, pair('a2'));
    return c.auth === 'Bearer a2-access' ? json(200, { ok: true }) : json(401, { error: 'unauthorized', message: 'expired' });
  };
  assert.deepEqual(await get('/me'), { ok: true });
  assert.deepEqual(calls.map((c) => c.url), ['/api/v1/me', '/api/v1/auth/refresh', '/api/v1/me']);
  assert.equal(session.value.access_token, 'a2-access');
});

test('a 401 that the refresh cannot cure ends the session', async () => {
  await loginAs('b');
  answer = () => json(401, { error: 'unauthorized', message: 'revoked' });
  await assert.rejects(get('/me'), (e) => e instanceof ApiError && e.code === 'unauthorized');
  assert.equal(session.value, null);
});

test("an old session's 401 neither renews nor ends the session that replaced it", async () => {
  await loginAs('street');
  let release;
  const held = new Promise((r) => { release = r; });
  answer = async (c) => {
    if (c.url.endsWith('/org-units/1')) { await held; return json(401, { error: 'unauthorized', message: 'revoked' }); }
    if (c.url.endsWith('/auth/login')) return json(200, pair('district'));
    return new Response(null, { status: 204 });
  };
  const stale = get('/org-units/1');
  // Log-out gives the request its time, then revokes; meanwhile the district officer logs in.
  const out = logout();
  assert.equal(session.value, null, 'the session ends here at once');
  await login('district', 'pw');
  release();
  await assert.rejects(stale, (e) => e instanceof ApiError && e.code === 'session_ended');
  await out;
  assert.equal(session.value?.user.id, 'district', "the new session is untouched");
  assert.ok(!calls.some((c) => c.url.endsWith('/auth/refresh')), 'no refresh for the ended session');
  const urls = calls.map((c) => `${c.method} ${c.url} ${c.auth ?? ''}`.trim());
  const revoke = urls.indexOf('POST /api/v1/auth/logout Bearer street-access');
  assert.ok(revoke > 0, `the street officer's tokens are revoked: ${urls}`);
});

test('log-out revokes only after the requests already sent are answered', async () => {
  await loginAs('c');
  const order = [];
  let release;
  const held = new Promise((r) => { release = r; });
  answer = async (c) => {
    if (c.url.endsWith('/slow')) { await held; order.push('slow answered'); return json(200, {}); }
    if (c.url.endsWith('/auth/logout')) order.push('revoked');
    return new Response(null, { status: 204 });
  };
  const slow = get('/slow');
  const out = logout();
  await new Promise((r) => { setTimeout(r, 50); });
  assert.deepEqual(order, [], 'no revoke while a request is on its way');
  release();
  await slow;
  await out;
  assert.deepEqual(order, ['slow answered', 'revoked']);
});

test('log-out with a run-out access token renews once to revoke the family', async () => {
  await loginAs('d');
  answer = (c) => {
    if (c.url.endsWith('/auth/refresh')) return json(200, pair('d2'));
    if (c.url.endsWith('/auth/logout')) return c.auth === 'Bearer d2-access' ? new Response(null, { status: 204 }) : json(401, { error: 'unauthorized', message: 'expired' });
    return new Response(null, { status: 204 });
  };
  await logout();
  assert.deepEqual(calls.map((c) => `${c.url} ${c.auth ?? ''}`.trim()), ['/api/v1/auth/logout Bearer d-access', '/api/v1/auth/refresh', '/api/v1/auth/logout Bearer d2-access']);
  assert.equal(session.value, null);
});

test('the authenticator code goes with the log-in, and none is sent when there is none', async () => {
  answer = () => json(200, pair('e'));
  await login('e', 'pw', { code: '123456' });
  await login('e', 'pw');
  assert.deepEqual(calls.slice(-2).map((c) => JSON.parse(c.body)), [
    { username: 'e', password: 'pw', second_factor_code: '123456' },
    { username: 'e', password: 'pw' },
  ]);
  answer = () => json(401, { error: 'second_factor_required', message: '需要动态验证码 / code required' });
  await assert.rejects(login('e', 'pw'), (e) => e instanceof ApiError && e.code === 'second_factor_required');
  assert.equal(session.value?.user.id, 'e', 'a log-in that asks for a code leaves the session as it was');
});

test('a session that must enrol says so, through a renewal, until the enrolment is confirmed', async () => {
  answer = () => json(200, { ...pair('f'), second_factor_enrolment_required: true });
  await login('f', 'pw');
  assert.equal(session.value.second_factor_enrolment_required, true);
  answer = (c) => {
    if (c.url.endsWith('/auth/refresh')) return json(200, pair('f2'));
    return c.auth === 'Bearer f2-access' ? json(200, { ok: true }) : json(401, { error: 'unauthorized', message: 'expired' });
  };
  await get('/me');
  assert.equal(session.value.access_token, 'f2-access');
  assert.equal(session.value.second_factor_enrolment_required, true, 'kept through the renewal');
  answer = () => json(200, { id: 'f', role: 'admin', second_factor: true });
  secondFactorEnrolled(await post('/auth/second-factor/confirm', { code: '123456' }));
  assert.equal(session.value.second_factor_enrolment_required, undefined);
  assert.equal(session.value.user.second_factor, true);
  assert.equal(session.value.access_token, 'f2-access', 'the same session');
  assert.equal(JSON.parse(sessionStorage.getItem('jiuzhu.session')).user.second_factor, true, 'stored for a reload');
});

test('a 403 asking for enrolment turns a stored session into one that must enrol', async () => {
  await loginAs('g');
  answer = () => json(403, { error: 'second_factor_enrolment_required', message: '请先开启两步验证 / enrol first' });
  await assert.rejects(get('/households'), (e) => e.status === 403 && e.code === 'second_factor_enrolment_required');
  assert.equal(session.value.access_token, 'g-access', 'the session goes on');
  assert.equal(session.value.second_factor_enrolment_required, true);
  assert.equal(JSON.parse(sessionStorage.getItem('jiuzhu.session')).second_factor_enrolment_required, true);
  await loginAs('h');
  answer = () => json(403, { error: 'forbidden', message: '无权 / forbidden' });
  await assert.rejects(get('/users'), (e) => e.code === 'forbidden');
  assert.equal(session.value.second_factor_enrolment_required, undefined, 'another 403 is only a refusal');
});
