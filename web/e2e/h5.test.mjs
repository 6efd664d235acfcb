// The citizen's page at /h5/ on a 375×667 touch phone: a new citizen registers with the demo code,
// reports a need with a photo and a GPS fix inside worker1's grid, and the report becomes worker1's
// verify task; a point outside the city is warned about; registration errors are said in Chinese.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { freshDataDir, startServer, guard, CHROMIUM_ARGS, shot, apiToken, apiCall, horizontalOverflow } from './harness.mjs';

const PASSWORD = 'Citizen-pass-2026';

/** A server on fresh demo data and a phone: 375×667, touch, Chinese, Shanghai, geolocation granted at `fix`. */
async function phone(t, { fix, env = {} } = {}) {
  const dataDir = await freshDataDir();
  let server;
  try {
    server = await startServer(dataDir, { env });
  } catch (e) {
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  const userDataDir = mkdtempSync(join(tmpdir(), 'jiuzhu-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: !process.env.E2E_HEADFUL,
    args: CHROMIUM_ARGS,
    viewport: { width: 375, height: 667 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    geolocation: fix ? { latitude: fix.lat, longitude: fix.lon, accuracy: 12 } : undefined,
    permissions: fix ? ['geolocation'] : [],
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(20_000);
  const g = guard(page, server.url);
  t.after(async () => {
    try {
      await context.close();
    } finally {
      await server.stop();
      rmSync(userDataDir, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
    const problems = g.final();
    if (problems.length) throw new Error(`the page had ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  });
  return { server, page, context, allow: g.allow };
}

/** A mobile number no other test uses: 139 followed by eight digits from the clock and a counter. */
let serial = 0;
function newNumber() {
  serial += 1;
  return `139${String((Date.now() * 10 + serial) % 1e8).padStart(8, '0')}`;
}

async function registerThroughPage(page, server, number) {
  await page.goto(`${server.url}/h5/`);
  await page.locator('[data-testid=register-form] input[name=phone]').fill(number);
  await page.locator('[data-testid=register-form] input[name=password]').fill(PASSWORD);
  await page.getByRole('button', { name: '获取验证码' }).tap();
  const demo = page.locator('[data-testid=demo-code]');
  await demo.waitFor();
  assert.match(await demo.innerText(), /演示/);
  return demo;
}

/** A JPEG of w×h drawn by the browser itself (the test has no image library). */
async function makeJpeg(page, w, h) {
  const b64 = await page.evaluate(async ([w, h]) => {
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    const x = c.getContext('2d');
    const g = x.createLinearGradient(0, 0, w, h);
    g.addColorStop(0, '#c33');
    g.addColorStop(1, '#36c');
    x.fillStyle = g;
    x.fillRect(0, 0, w, h);
    x.fillStyle = '#fff';
    x.font = `${Math.round(h / 8)}px sans-serif`;
    x.fillText('家里的情况', w / 10, h / 2);
    const blob = await new Promise((r) => c.toBlob(r, 'image/jpeg', 0.9));
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }, [w, h]);
  return Buffer.from(b64, 'base64');
}

/** A WGS-84 point of one of worker1's households, with worker1's grid id (both read through the API). */
async function worker1Point(server) {
  const token = await apiToken(server, 'worker1');
  const me = await apiCall(server, token, 'GET', '/me');
  const sync = await apiCall(server, token, 'GET', '/sync');
  const home = sync.households.find((h) => h.location && h.grid_id === me.org_unit_id);
  assert.ok(home, 'worker1 has a located household in their grid');
  return { lat: home.location.lat, lon: home.location.lon, gridId: me.org_unit_id, token };
}

test('a new citizen registers, reports a need with a photo and a GPS fix, and worker1 gets the verify task', async (t) => {
  const { server, page, context } = await phone(t);
  const fix = await worker1Point(server);
  await context.setGeolocation({ latitude: fix.lat, longitude: fix.lon, accuracy: 12 });
  await context.grantPermissions(['geolocation'], { origin: server.url });
  const number = newNumber();

  const demo = await registerThroughPage(page, server, number);
  await shot(page, 'h5-verify');
  await demo.getByRole('button', { name: '填入' }).tap();
  await page.getByRole('button', { name: '验证并登录' }).tap();
  await page.locator('[data-testid=report-form]').waitFor();
  assert.match(await page.locator('[data-testid=who]').innerText(), /\*\*\*\*/, 'the masked number shows who is logged in');
  assert.ok(await horizontalOverflow(page) <= 0, 'no sideways scrolling at 375 px');

  await page.getByRole('radio', { name: '看病就医困难' }).tap();
  await page.locator('textarea[name=description]').fill('母亲住院三周，医药费自付部分负担不起，家里只有我一人工作。');
  const jpeg = await makeJpeg(page, 3000, 2000);
  await page.locator('input[type=file][name=photos]').setInputFiles({ name: 'home.jpg', mimeType: 'image/jpeg', buffer: jpeg });
  const thumb = page.locator('[data-testid=photo]');
  await thumb.waitFor();
  assert.match(await thumb.innerText(), /1600×1067/, 'the photo was shrunk to 1600 px on its longer side');

  const located = page.waitForResponse((r) => r.url().includes('/api/v1/geo/locate'));
  await page.locator('[data-testid=use-gps]').tap();
  const locateUrl = new URL((await located).url());
  assert.equal(locateUrl.searchParams.get('crs'), 'gcj02', 'the page asks in GCJ-02, as a mini-program does');
  assert.notEqual(Number(locateUrl.searchParams.get('lat')), fix.lat, 'the GPS fix was converted, not sent as WGS-84');
  const place = page.locator('[data-testid=place]');
  await place.filter({ hasText: '网格' }).waitFor();
  assert.match(await place.innerText(), /将由该网格的网格员上门核实/);
  await shot(page, 'h5-report', { fullPage: true });

  const sentReport = page.waitForRequest((r) => r.url().endsWith('/api/v1/self-reports') && r.method() === 'POST');
  const photoStored = page.waitForResponse((r) => r.url().includes('/api/v1/photos/') && r.request().method() === 'PUT');
  await page.locator('[data-testid=send-report]').tap();
  const outcome = page.locator('[data-testid=report-sent], [data-testid=report-form] .error-line');
  await outcome.first().waitFor();
  if (await page.locator('[data-testid=report-sent]').count() === 0) {
    await shot(page, 'h5-send-failed', { fullPage: true });
    assert.fail(`the report was not sent: ${await outcome.first().innerText()}`);
  }
  const body = (await sentReport).postDataJSON();
  const stored = await photoStored;
  assert.equal(stored.status(), 201);
  const photo = await stored.json();
  assert.deepEqual([photo.media_type, photo.width, photo.height], ['image/jpeg', 1600, 1067], 'the server got the shrunk JPEG');
  assert.ok(body.photo_ids.includes(photo.id));
  assert.equal(body.location.crs, 'gcj02');
  assert.equal(body.photo_ids.length, 1);
  assert.equal(body.category_hint, 'medical');
  const done = page.locator('[data-testid=report-sent]');
  await done.waitFor();
  assert.match(await done.innerText(), /核实中/);
  assert.match(await done.innerText(), /网格员将联系您/);
  await shot(page, 'h5-sent');

  await page.getByRole('button', { name: '查看办理进度' }).tap();
  const mine = page.locator('[data-testid=my-report]');
  await mine.first().waitFor();
  assert.equal(await mine.count(), 1);
  const words = await mine.first().innerText();
  assert.match(words, /看病就医困难/);
  assert.match(words, /核实中/);
  assert.doesNotMatch(words, /verifying|received|medical/, 'no internal codes');
  assert.match(await page.locator('[data-testid=my-applications]').innerText(), /暂无救助申请/);
  await shot(page, 'h5-mine');

  // Through the API: the finding exists and worker1's sync carries a verify task for its household.
  const coordinator = await apiToken(server, 'coordinator');
  const findings = await apiCall(server, coordinator, 'GET', '/findings?type=self_report&limit=200');
  const finding = findings.items.find((f) => f.self_report_id === body.id);
  assert.ok(finding, 'a self_report finding for the report');
  assert.equal(finding.org_unit_id, fix.gridId, 'routed to worker1\'s grid');
  assert.ok(finding.household_id);
  const sync = await apiCall(server, fix.token, 'GET', '/sync');
  const task = sync.tasks.find((x) => x.household_id === finding.household_id);
  assert.ok(task, 'worker1\'s sync carries a task for the reported household');
  assert.equal(task.kind, 'verify');

  // Log out, then log in again later with the number and password: the report is still there.
  await page.getByRole('button', { name: '退出' }).tap();
  await page.getByRole('tab', { name: '登录' }).tap();
  await page.locator('[data-testid=login-form] input[name=phone]').fill(number);
  await page.locator('[data-testid=login-form] input[name=password]').fill(PASSWORD);
  await page.locator('[data-testid=login-form] button[type=submit]').tap();
  await page.locator('[data-testid=report-form]').waitFor();
  await page.getByRole('tab', { name: '办理进度' }).tap();
  await page.locator('[data-testid=my-report]').first().waitFor();
});

test('a point outside the city is warned about in words, from the server\'s answer', async (t) => {
  const beijing = { lat: 39.9087, lon: 116.3975 };
  const { server, page } = await phone(t, { fix: beijing });
  const demo = await registerThroughPage(page, server, newNumber());
  await demo.getByRole('button', { name: '填入' }).tap();
  await page.getByRole('button', { name: '验证并登录' }).tap();
  await page.locator('[data-testid=report-form]').waitFor();

  const located = page.waitForResponse((r) => r.url().includes('/api/v1/geo/locate'));
  await page.locator('[data-testid=use-gps]').tap();
  const answer = await (await located).json();
  assert.equal(answer.inside_city, false, 'the server says the point is outside the city');
  const place = page.locator('[data-testid=place]');
  await place.waitFor();
  const text = await place.innerText();
  assert.match(text, /不在本市范围内/);
  assert.match(text, /网格员无法上门核实/);
  assert.equal(await place.getAttribute('role'), 'alert');
  await shot(page, 'h5-outside-city');

  // The boundary-only map: a tap on one of worker1's households replaces the point, and the warning goes.
  const home = await worker1Point(server);
  await page.locator('[data-testid=pick-on-map]').tap();
  const svg = page.locator('[data-testid=map] svg');
  await svg.locator('path.unit-district').first().waitFor();
  await svg.scrollIntoViewIfNeeded();
  const at = await svg.evaluate((el, p) => {
    // The map's projection (map.js): x east, y south, in degrees of latitude around the view's centre.
    const lat0 = Number(el.dataset.lat0);
    const lon0 = Number(el.dataset.lon0);
    const k = Math.cos((lat0 * Math.PI) / 180);
    const q = new DOMPoint((p.lon - lon0) * k, -(p.lat - lat0)).matrixTransform(el.getScreenCTM());
    return { x: q.x, y: q.y };
  }, home);
  const tapped = page.waitForResponse((r) => r.url().includes('/api/v1/geo/locate'));
  await page.touchscreen.tap(at.x, at.y);
  const picked = await tapped;
  const inside = await picked.json();
  assert.equal(inside.inside_city, true, 'the tapped point is inside the city');
  const sentAt = new URL(picked.url()).searchParams;
  assert.equal(sentAt.get('crs'), 'gcj02');
  // One screen pixel is tens of metres at the city's zoom: the point comes back within 150 m.
  const metres = Math.hypot((inside.lat - home.lat) * 111_000, (inside.lon - home.lon) * 111_000 * Math.cos((home.lat * Math.PI) / 180));
  assert.ok(metres < 150, `the tap landed ${Math.round(metres)} m from the household`);
  await place.filter({ hasText: inside.grid?.name ?? '在本市' }).waitFor();
  assert.doesNotMatch(await place.innerText(), /不在本市范围内/);
  if (inside.grid) await svg.locator('path.unit-hit').waitFor();
  await page.evaluate(() => window.scrollBy(0, 160));
  await shot(page, 'h5-map-pick');
});

test('registration errors are said in Chinese', async (t) => {
  const { server, page, allow } = await phone(t);
  allow(422, '/api/v1/citizen/register');
  allow(400, '/api/v1/citizen/register');
  allow(400, '/api/v1/citizen/verify');
  allow(422, '/api/v1/citizen/verify');
  await page.goto(`${server.url}/h5/`);
  // Chinese first, English on demand, and back.
  await page.getByRole('button', { name: 'English' }).tap();
  await page.getByRole('button', { name: 'Send me a code' }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  await page.getByRole('button', { name: '中文' }).tap();
  const form = page.locator('[data-testid=register-form]');
  await form.locator('input[name=phone]').fill('12345');
  await form.locator('input[name=password]').fill(PASSWORD);
  await page.getByRole('button', { name: '获取验证码' }).tap();
  await form.locator('.error-line').waitFor();
  assert.match(await form.locator('.error-line').innerText(), /请填写11位手机号码/);
  await shot(page, 'h5-bad-number');

  await form.locator('input[name=phone]').fill(newNumber());
  await form.locator('input[name=password]').fill('short');
  await page.getByRole('button', { name: '获取验证码' }).tap();
  await form.locator('.error-line').filter({ hasText: '密码' }).waitFor();
  assert.match(await form.locator('.error-line').innerText(), /密码长度/);

  await form.locator('input[name=password]').fill(PASSWORD);
  await page.getByRole('button', { name: '获取验证码' }).tap();
  const verify = page.locator('[data-testid=verify-form]');
  await verify.waitFor();
  const real = (await verify.locator('[data-testid=demo-code] b').innerText()).trim();
  const wrong = real === '000000' ? '111111' : '000000';
  await verify.locator('input[name=code]').fill(wrong);
  await page.getByRole('button', { name: '验证并登录' }).tap();
  await verify.locator('.error-line').waitFor();
  assert.match(await verify.locator('.error-line').innerText(), /验证码错误或已过期/);
  assert.equal(await page.locator('[data-testid=report-form]').count(), 0, 'not logged in with a wrong code');
  await shot(page, 'h5-wrong-code');
});

test('the citizen stays logged in across a reload and an expired access token', async (t) => {
  const { server, page, allow } = await phone(t, { env: { JIUZHU_ACCESS_TOKEN_TTL_SECS: '2' } });
  allow(401, '/api/v1/my/'); // the expired token's answers, each followed by one refresh and a retry
  const demo = await registerThroughPage(page, server, newNumber());
  await demo.getByRole('button', { name: '填入' }).tap();
  await page.getByRole('button', { name: '验证并登录' }).tap();
  await page.locator('[data-testid=report-form]').waitFor();
  const before = await page.evaluate(() => JSON.parse(localStorage.getItem('jiuzhu.h5.session')).refresh_token);
  await page.reload();
  await page.locator('[data-testid=report-form]').waitFor();
  await page.waitForTimeout(3000);
  const refreshed = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/refresh') && r.status() === 200);
  await page.getByRole('tab', { name: '办理进度' }).tap();
  await refreshed;
  await page.locator('[data-testid=my-reports]').waitFor();
  const after = await page.evaluate(() => JSON.parse(localStorage.getItem('jiuzhu.h5.session')).refresh_token);
  assert.notEqual(after, before, 'the rotated refresh token was kept');
  assert.equal(await page.locator('[data-testid=register-form]').count(), 0, 'still logged in');
});
