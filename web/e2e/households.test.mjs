// Households: search by a name prefix, open the card with masked ID numbers, reveal them with a stated
// reason (audited), then find the same household by the full ID number.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, login, shot } from './harness.mjs';

test('a coordinator searches, opens a household and reveals an ID number with a reason', async (t) => {
  const { page, server } = await setup(t);
  await page.goto(`${server.url}/`);
  await login(page, 'coordinator');
  await page.locator('nav.sidebar a', { hasText: '住户档案' }).click();
  const rows = page.locator('.table-wrap table tbody tr');
  await rows.first().waitFor();
  const all = await rows.count();
  assert.ok(all > 0, 'the community has households');

  // A name prefix narrows the list; every row found has a member of that name (the head is shown).
  const head = (await rows.first().locator('td').first().innerText()).trim();
  const prefix = head.slice(0, 1);
  await page.locator('input[name=name]').fill(prefix);
  await page.getByRole('button', { name: '查询' }).click();
  await page.waitForURL(/name=/);
  await page.waitForFunction((p) => {
    const heads = [...document.querySelectorAll('.table-wrap table:not(.is-loading) tbody tr td:first-child')].map((td) => td.innerText);
    return heads.length > 0 && heads.length <= 30;
  }, prefix);
  await shot(page, 'households-search');

  await rows.first().click();
  await page.waitForURL(/#\/households\/[0-9a-f-]{36}$/);
  const members = page.locator('[data-testid=members] tbody tr');
  await members.first().waitFor();
  const masked = await members.first().locator('td.mono').first().innerText();
  assert.match(masked, /^\d{6}\*+\d{3}[\dX]$/, `masked: ${masked}`);

  // Reveal asks for a reason: the button stays disabled until one is given.
  await page.locator('[data-testid=reveal-all]').click();
  const dialog = page.getByRole('dialog');
  const confirm = dialog.getByRole('button', { name: '确认查看' });
  assert.equal(await confirm.isDisabled(), true, 'no reveal without a reason');
  await dialog.locator('textarea').fill('核对低保申请人户籍信息（端到端测试）');
  await confirm.click();
  const revealed = page.locator('[data-testid=revealed-id]').first();
  await revealed.waitFor();
  const full = (await revealed.innerText()).trim();
  assert.match(full, /^\d{17}[\dX]$/, `revealed: ${full}`);
  assert.equal(full.slice(0, 6), masked.slice(0, 6));
  assert.equal(full.slice(-4), masked.slice(-4));
  await shot(page, 'household-card');
  const householdUrl = page.url();

  // Search by the full ID number finds this household and only it.
  await page.goto(`${server.url}/#/households`);
  await page.locator('input[name=id_number]').fill(full);
  await page.getByRole('button', { name: '查询' }).click();
  await page.waitForURL(/id_number=/);
  // The list reloads for the new query: exactly one household has this number.
  await page.waitForFunction(() => document.querySelectorAll('.table-wrap table:not(.is-loading) tbody tr').length === 1);
  await rows.first().click();
  await page.waitForURL(householdUrl);

  // A malformed ID number is caught before asking the server.
  await page.goto(`${server.url}/#/households`);
  await page.locator('input[name=id_number]').fill('123456789012345678');
  await page.getByRole('button', { name: '查询' }).click();
  await page.locator('.field.has-error', { hasText: '校验位' }).waitFor();
});

test('the card shows the household\'s visits, tasks, findings and applications', async (t) => {
  const { page, server } = await setup(t);
  await page.goto(`${server.url}/`);
  await login(page, 'coordinator');
  // A household with activity: the first visit of the community.
  await page.goto(`${server.url}/#/households`);
  await page.locator('.table-wrap table tbody tr').first().waitFor();
  const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('jiuzhu.session')).access_token);
  const visits = await (await fetch(`${server.url}/api/v1/visits?limit=1`, { headers: { Authorization: `Bearer ${token}` } })).json();
  assert.ok(visits.items.length, 'the demo has visits in the community');
  const hid = visits.items[0].household_id;
  await page.goto(`${server.url}/#/households/${hid}`);
  await page.locator('[data-testid=members]').waitFor();
  const tabs = page.locator('.card:has(.tabs)');
  await page.getByRole('tab', { name: '走访记录' }).click();
  await tabs.locator('tbody tr').first().waitFor();
  for (const tab of ['任务', '主动发现', '救助申请']) {
    await page.getByRole('tab', { name: tab, exact: true }).click();
    await tabs.locator('.pager').waitFor();
  }
  await shot(page, 'household-history');
  await page.getByRole('tab', { name: '走访记录' }).click();
  await tabs.locator('tbody tr').first().click();
  await page.waitForURL(/#\/visits\/[0-9a-f-]{36}/);
});
