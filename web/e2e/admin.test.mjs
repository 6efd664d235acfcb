// Administration: every section loads for an admin; an XLSForm with mistakes is refused with each
// problem by sheet and cell, and a correct one is published; a user is created in a unit; the audit
// log shows who did what, a phone's write among them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, login, shot, apiToken, apiCall } from './harness.mjs';
import { workbook } from './xlsx.mjs';

test('every admin section loads', async (t) => {
  const { page, server } = await setup(t);
  await page.goto(`${server.url}/`);
  await login(page, 'admin');
  await page.locator('nav.sidebar a', { hasText: '系统管理' }).click();
  await page.locator('.table-wrap table tbody tr').first().waitFor();
  assert.ok(await page.locator('.table-wrap table tbody tr').count() >= 5, 'the demo users are listed');
  await shot(page, 'admin-users');

  await page.getByRole('tab', { name: '组织与边界' }).click();
  await page.waitForURL(/#\/admin\/units/);
  await page.locator('.table-wrap table tbody tr').first().waitFor();
  await shot(page, 'admin-units');

  await page.getByRole('tab', { name: '表单' }).click();
  await page.locator('td.mono', { hasText: 'home_visit' }).first().click();
  await page.locator('[data-testid=form-fields] tbody tr').first().waitFor();
  assert.ok(await page.locator('[data-testid=form-fields] tbody tr').count() > 20, 'the home-visit form has its fields');
  await shot(page, 'admin-forms', { fullPage: true });

  await page.getByRole('tab', { name: '发现规则' }).click();
  await page.locator('[data-testid=rules] td.mono', { hasText: 'possible_dibao' }).waitFor();
  await shot(page, 'admin-rules');

  await page.getByRole('tab', { name: '救助标准' }).click();
  await page.locator('[data-testid=standards] tbody tr').first().waitFor();
  assert.match(await page.locator('[data-testid=standards]').innerText(), /320402/);
  await shot(page, 'admin-standards');

  await page.getByRole('tab', { name: '规则缺口' }).click();
  await page.locator('.card', { hasText: '规则缺口' }).locator('[data-testid=gaps], .state-empty').first().waitFor();
  await shot(page, 'admin-gaps');
});

test('an XLSForm is refused cell by cell, then a correct one is published', async (t) => {
  const { page, server, allow } = await setup(t);
  allow(422, '/api/v1/forms/import-xlsform');
  await page.goto(`${server.url}/`);
  await login(page, 'admin');
  await page.goto(`${server.url}/#/admin/forms`);
  const form = page.locator('[data-testid=xlsform-form]');
  await form.waitFor();
  const header = ['type', 'name', 'label::zh', 'label::en'];
  const settings = ['settings', [['form_id', 'form_title'], ['e2e_survey', '端到端测试表']]];
  const bad = workbook([
    ['survey', [header, ['integer', 'age', '年龄', 'Age'], ['range', 'score', '评分', 'Score'], ['select_one nowhere', 'pick', '选择', 'Pick']]],
    ['choices', [['list_name', 'name', 'label::zh', 'label::en'], ['yn', 'yes', '是', 'Yes']]],
    settings,
  ]);
  await form.locator('input[type=file]').setInputFiles({ name: 'bad.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', buffer: bad });
  await form.getByRole('button', { name: '上传并发布' }).click();
  const problems = page.locator('[data-testid=problems]');
  await problems.waitFor();
  const where = await problems.locator('tbody td:first-child').allInnerTexts();
  assert.ok(where.some((w) => /^survey!A3$/.test(w)), `the unsupported type is shown at survey!A3: ${where}`);
  assert.ok(where.some((w) => /^survey!A4$/.test(w)), `the unknown choice list is shown at survey!A4: ${where}`);
  await shot(page, 'admin-xlsform-errors');

  const good = workbook([
    ['survey', [header, ['integer', 'age', '年龄', 'Age'], ['text', 'remark', '备注', 'Remark']]],
    ['choices', [['list_name', 'name', 'label::zh', 'label::en'], ['yn', 'yes', '是', 'Yes']]],
    settings,
  ]);
  await form.locator('input[type=file]').setInputFiles({ name: 'good.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', buffer: good });
  await form.getByRole('button', { name: '上传并发布' }).click();
  await page.locator('.notice', { hasText: 'e2e_survey' }).waitFor();
  await page.locator('[data-testid=form-fields] td.mono', { hasText: 'remark' }).waitFor();
  await page.locator('td.mono', { hasText: 'e2e_survey' }).first().waitFor();
});

test('an admin creates a grid worker bound to a grid', async (t) => {
  const { page, server } = await setup(t);
  await page.goto(`${server.url}/`);
  await login(page, 'admin');
  await page.goto(`${server.url}/#/admin/users`);
  await page.getByRole('button', { name: '新建用户' }).click();
  const dialog = page.getByRole('dialog');
  const inputs = dialog.locator('input.input');
  await inputs.nth(0).fill('e2e.worker');
  await inputs.nth(1).fill('测试网格员');
  // Pick down to a grid: each level's first unit.
  for (let level = 0; level < 6; level++) {
    const selects = dialog.locator('.unit-picker select');
    if (await selects.count() <= level) break;
    const options = selects.nth(level).locator('option');
    if (await options.count() < 2) break;
    await selects.nth(level).selectOption(await options.nth(1).getAttribute('value'));
    await page.waitForTimeout(150);
  }
  await dialog.locator('input[type=password]').fill('e2e-password-2026!');
  await dialog.getByRole('button', { name: '保存' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.locator('td .mono', { hasText: 'e2e.worker' }).first().waitFor({ timeout: 5000 }).catch(() => {});
  // The new account works: it logs in (and is sent to the phone app).
  await page.getByRole('button', { name: '退出' }).click();
  await login(page, 'e2e.worker', { password: 'e2e-password-2026!', expect: 'notice' });
});

test('boundaries are imported from GeoJSON, and a bad file is refused feature by feature', async (t) => {
  const { page, server, allow } = await setup(t);
  allow(422, '/api/v1/org-units/import');
  allow(400, '/api/v1/org-units/import');
  await page.goto(`${server.url}/`);
  await login(page, 'admin');
  await page.goto(`${server.url}/#/admin/units`);
  const card = page.locator('.card', { hasText: '导入边界（GeoJSON）' });
  await card.waitFor();
  const square = (x, y) => [[[x, y], [x + 0.001, y], [x + 0.001, y + 0.001], [x, y + 0.001], [x, y]]];
  const bad = { type: 'FeatureCollection', features: [
    { type: 'Feature', properties: { code: '999', name: '坏代码', kind: 'grid' }, geometry: { type: 'Polygon', coordinates: square(119.94, 31.8) } },
    { type: 'Feature', properties: { code: '320402001001902', name: '坏边界', kind: 'grid' }, geometry: { type: 'Polygon', coordinates: [[[119.94, 31.8], [119.941, 31.8]]] } },
  ] };
  await card.locator('input[type=file]').setInputFiles({ name: 'bad.geojson', mimeType: 'application/geo+json', buffer: Buffer.from(JSON.stringify(bad)) });
  await card.getByRole('button', { name: '导入' }).click();
  const problems = card.locator('[data-testid=problems] tbody tr');
  await problems.first().waitFor();
  const where = await card.locator('[data-testid=problems] tbody td:first-child').allInnerTexts();
  assert.ok(where.some((w) => w.startsWith('features[0]')) && where.some((w) => w.startsWith('features[1]')), `each bad feature is named: ${where}`);
  await shot(page, 'admin-boundaries-errors');

  const good = { type: 'FeatureCollection', features: [
    { type: 'Feature', properties: { code: '320402001001901', name: '端到端测试网格', kind: 'grid' }, geometry: { type: 'Polygon', coordinates: square(119.94, 31.8) } },
  ] };
  await card.locator('input[type=file]').setInputFiles({ name: 'good.geojson', mimeType: 'application/geo+json', buffer: Buffer.from(JSON.stringify(good)) });
  await card.getByRole('button', { name: '导入' }).click();
  await card.locator('.notice', { hasText: '新建 1' }).waitFor();
  // The new grid is where it belongs: under 红梅新村社区, found by the unit picker.
  const picker = page.locator('.card', { hasText: '组织架构' }).locator('.unit-picker select');
  for (const name of ['天宁区', '天宁街道', '红梅新村社区']) {
    const select = picker.last();
    const value = await select.locator('option', { hasText: name }).getAttribute('value');
    await select.selectOption(value);
    await page.waitForTimeout(200);
  }
  await page.locator('.card', { hasText: '组织架构' }).locator('td', { hasText: '端到端测试网格' }).waitFor();
});

test('the audit log shows log-ins and a phone\'s log-out, in Beijing time, with their detail', async (t) => {
  const { page, server } = await setup(t);
  // A grid worker's phone logs in and out through the API: the log-out is journaled and chained
  // by the server's sealer within a second or so.
  const token = await apiToken(server, 'worker1');
  await apiCall(server, token, 'POST', '/auth/logout');
  await page.goto(`${server.url}/`);
  await login(page, 'admin');
  await page.goto(`${server.url}/#/admin/audit`);
  const audit = page.locator('[data-testid=audit]');
  await audit.locator('.table-wrap table tbody tr').first().waitFor();
  // Newest first: the admin's own log-in is there, named in Chinese, as a success.
  await audit.locator('select').first().selectOption('auth.login');
  const ownLogin = audit.locator('.table-wrap table tbody tr', { hasText: '系统管理员' }).first();
  await ownLogin.waitFor();
  assert.match(await ownLogin.innerText(), /登录[\s\S]*成功/);
  // The time is Beijing time: the row's minute is the minute now in Asia/Shanghai (or the one before).
  const now = new Date();
  const shanghai = (d) => new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);
  const text = await ownLogin.innerText();
  assert.ok([shanghai(now), shanghai(new Date(now - 60_000))].some((hm) => text.includes(hm)), `${text} is not in Beijing time (${shanghai(now)})`);
  // The phone's log-out, once sealed (the table is read again until it shows).
  let logout = null;
  for (let i = 0; i < 20 && !logout; i++) {
    await audit.locator('select').first().selectOption('');
    await audit.locator('select').first().selectOption('auth.logout');
    const row = audit.locator('.table-wrap table tbody tr', { hasText: '退出登录' }).first();
    if (await row.isVisible().catch(() => false)) logout = row;
    else await page.waitForTimeout(500);
  }
  assert.ok(logout, 'the phone\'s log-out is in the audit log');
  assert.match(await logout.innerText(), /网格员/, 'the actor is named');
  await logout.click();
  const record = page.locator('[data-testid=audit-record]');
  await record.waitFor();
  const detail = await record.innerText();
  assert.match(detail, /auth\.logout/);
  assert.match(detail, /请求编号[\s\S]*[0-9a-f]{8}-/, 'the request id is shown');
  await shot(page, 'admin-audit');
});
