// The phone app on a connection that goes silent: a request whose answer never begins (a proxy or a
// tower that swallows packets without a reset) ends as a network failure after the app's answer
// timeout, and the outbox sends the visit again instead of waiting on it until a reload.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { phone, fieldLogin, makeJpeg, fillHomeVisit, apiToken, apiCall } from './field.fixtures.mjs';

/** The timeout the page's app runs with (set before it loads; the app's own is 60 s). */
const ANSWER_WITHIN_MS = 1_500;

async function shortTimeouts(context) {
  await context.addInitScript((ms) => { window.JIUZHU_ANSWER_WITHIN_MS = ms; }, ANSWER_WITHIN_MS);
}

test('a request with no answer fails as a network error once its timeout passes', { timeout: 60_000 }, async (t) => {
  const world = await phone(t, { excuse: (e) => e.kind === 'failed' && e.url.includes('/stalled') });
  const { page } = world;
  let seen = 0;
  await page.route('**/api/v1/stalled', () => { seen += 1; }); // never answered
  await page.goto(`${world.url}/field/`);
  const result = await page.evaluate(async () => {
    const { request } = await import(document.querySelector('script[type=module]').src.replace(/app\.js$/, 'net.js'));
    const started = performance.now();
    try {
      await request('GET', '/stalled', { timeoutMs: 700 });
      return { answered: true };
    } catch (e) {
      return { status: e.status, code: e.code, retryable: e.retryable, message: e.message, ms: performance.now() - started };
    }
  });
  assert.equal(seen, 1, 'the request reached the stalled route');
  assert.equal(result.answered, undefined, 'no answer, yet the request ended');
  assert.equal(result.status, 0);
  assert.equal(result.code, 'network');
  assert.ok(result.retryable, 'a timeout is worth another try');
  assert.match(result.message, /没有应答/);
  assert.ok(result.ms >= 650 && result.ms < 10_000, `ended after ${result.ms} ms`);

  // The caller's own abort still ends it as an abort, not as a network failure.
  const aborted = await page.evaluate(async () => {
    const { request } = await import(document.querySelector('script[type=module]').src.replace(/app\.js$/, 'net.js'));
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 100);
    try {
      await request('GET', '/stalled', { signal: ctl.signal, timeoutMs: 30_000 });
      return 'answered';
    } catch (e) {
      return e.name;
    }
  });
  assert.equal(aborted, 'AbortError');
});

test('a visit whose first send gets no answer is sent again and arrives once', { timeout: 150_000 }, async (t) => {
  const world = await phone(t, { excuse: (e) => e.kind === 'failed' && e.method === 'POST' && e.url.endsWith('/api/v1/visits') });
  const { page, context } = world;
  await shortTimeouts(context);
  const token = await apiToken(world.server, 'worker1');
  const first = await apiCall(world.server, token, 'GET', '/sync');
  const task = first.tasks.find((x) => x.kind === 'visit') ?? first.tasks[0];
  const home = first.households.find((h) => h.id === task.household_id).location;
  await context.setGeolocation({ latitude: home.lat, longitude: home.lon, accuracy: 8 });
  let posts = 0;
  await page.route('**/api/v1/visits', (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    posts += 1;
    if (posts === 1) return undefined; // the first send: the connection goes silent
    return route.continue();
  });
  await fieldLogin(page, world.url);
  await page.locator(`a[href="#/task/${task.id}"]`).first().click();
  await page.locator('[data-testid=start-visit]').click();
  await page.locator('[data-testid=visit]').waitFor();
  const house = await makeJpeg(page, { seed: 21, lat: home.lat, lon: home.lon });
  const sheet = await makeJpeg(page, { seed: 22, lat: home.lat, lon: home.lon });
  await fillHomeVisit(page, { photos: { house, sheet } });
  await page.locator('[data-testid=finish]').click();
  await page.locator('[data-testid=outbox-item][data-state=sent]').waitFor({ timeout: 90_000 });
  assert.ok(posts >= 2, `the visit was sent again after the silent first send (${posts} sends)`);

  const coordinator = await apiToken(world.server, 'coordinator');
  const visits = (await apiCall(world.server, coordinator, 'GET', `/visits?household_id=${task.household_id}&limit=50`)).items;
  assert.equal(visits.filter((v) => v.task_id === task.id).length, 1, 'the visit arrived exactly once');
});
