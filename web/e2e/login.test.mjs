// Log-in: office roles reach the console; a grid worker and a citizen are sent to their phone pages;
// a wrong password, a lockout and a rate limit are said in words; the language switch sticks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, login, shot } from './harness.mjs';

test('a coordinator logs in, sees the shell, and logs out', async (t) => {
  const { page, server } = await setup(t);
  await page.goto(`${server.url}/`);
  await shot(page, 'login');
  await login(page, 'coordinator');
  const who = await page.locator('[data-testid=who]').innerText();
  assert.match(who, /社区协调员/);
  const nav = await page.locator('nav.sidebar a').allInnerTexts();
  for (const entry of ['工作概览', '地图', '走访任务', '走访审核', '主动发现', '救助申请', '住户档案']) assert.ok(nav.includes(entry), `sidebar has ${entry}: ${nav}`);
  assert.ok(!nav.includes('系统管理'), 'a coordinator has no admin entry');
  // The overview may still be asking for its slower figures (rules, MPI) when the session ends: those
  // answers come back 401, as they must for a token that is gone.
  page.allow(401, '/api/v1/');
  await page.getByRole('button', { name: '退出' }).click();
  await page.locator('input[name=username]').waitFor();
  // The session is gone: a reload shows the log-in form again.
  await page.reload();
  await page.locator('input[name=username]').waitFor();
});

test('a grid worker and a citizen are told to use the phone app', async (t) => {
  const { page, server } = await setup(t);
  await page.goto(`${server.url}/`);
  await login(page, 'worker1', { expect: 'notice' });
  const notice = page.locator('[data-testid=phone-app-notice]');
  assert.match(await notice.innerText(), /网格员/);
  assert.equal(await notice.locator('a').getAttribute('href'), '/field/');
  assert.equal(await page.locator('nav.sidebar').count(), 0, 'no console for a grid worker');
  await shot(page, 'login-grid-worker');
  // The worker's session was ended on the server: its token no longer works.
  assert.equal(await page.evaluate(() => sessionStorage.getItem('jiuzhu.session')), null);

  await login(page, 'citizen', { expect: 'notice' });
  assert.equal(await page.locator('[data-testid=phone-app-notice] a').getAttribute('href'), '/h5/');
});

test('a wrong password, then the lockout, are shown in words', async (t) => {
  const { page, server, allow } = await setup(t);
  allow(401, '/api/v1/auth/login');
  allow(423, '/api/v1/auth/login');
  allow(429, '/api/v1/auth/login');
  await page.goto(`${server.url}/`);
  await login(page, 'street', { password: 'not-the-password', expect: 'error' });
  assert.match(await page.locator('form.login-box .error-line').innerText(), /用户名或密码错误/);
  // Keep failing until the server locks the account (5 failures by default) or limits the rate.
  let text = '';
  for (let i = 0; i < 12; i++) {
    await page.locator('input[name=password]').fill(`wrong-${i}`);
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login'));
    await page.locator('form.login-box button[type=submit]').click();
    const res = await answer;
    if (res.status() === 423 || res.status() === 429) {
      await page.locator('form.login-box .error-line').filter({ hasText: /锁定|频繁/ }).waitFor();
      text = await page.locator('form.login-box .error-line').innerText();
      break;
    }
  }
  assert.match(text, /锁定|频繁/, 'the lockout or rate limit is said in words');
  await shot(page, 'login-locked');
  // Even the right password is refused while locked, and the page still says why.
  await page.locator('input[name=password]').fill('jiuzhu-demo-2026');
  await page.locator('form.login-box button[type=submit]').click();
  await page.locator('form.login-box .error-line').filter({ hasText: /锁定|频繁/ }).waitFor();
  assert.equal(await page.locator('nav.sidebar').count(), 0);
});

test('English can be switched on and stays on after a reload', async (t) => {
  const { page, server } = await setup(t);
  await page.goto(`${server.url}/`);
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByRole('button', { name: 'Log in' }).waitFor();
  await login(page, 'district');
  await page.locator('nav.sidebar a', { hasText: 'Applications' }).waitFor();
  await page.reload();
  await page.locator('nav.sidebar a', { hasText: 'Overview' }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  await page.getByRole('button', { name: '中文' }).click();
  await page.locator('nav.sidebar a', { hasText: '救助申请' }).waitFor();
});

test('an expired access token is refreshed without the user noticing', async (t) => {
  const { page, server, allow } = await setup(t, { serverEnv: { JIUZHU_ACCESS_TOKEN_TTL_SECS: '2' } });
  allow(401, '/api/v1/'); // the expired token's answers, each followed by one refresh and a retry
  await page.goto(`${server.url}/`);
  await login(page, 'coordinator');
  await page.locator('[data-testid=overview-numbers]').waitFor();
  const before = await page.evaluate(() => JSON.parse(sessionStorage.getItem('jiuzhu.session')).access_token);
  await page.waitForTimeout(3000);
  const refreshed = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/refresh') && r.status() === 200);
  await page.locator('nav.sidebar a', { hasText: '住户档案' }).click();
  await refreshed;
  await page.locator('.table-wrap table tbody tr').first().waitFor();
  const after = await page.evaluate(() => JSON.parse(sessionStorage.getItem('jiuzhu.session')).access_token);
  assert.notEqual(after, before, 'a new access token');
  assert.equal(await page.locator('input[name=username]').count(), 0, 'still logged in');
});
