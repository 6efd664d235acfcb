// Data in and out: exports download as files (CSV in UTF-8 with a BOM or GBK for Excel, GeoJSON), and a
// department's file is imported with its progress, its report and the unmatched rows to send back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setup, login, shot, apiToken, apiCall } from './harness.mjs';

async function downloadOf(page, click) {
  const [dl] = await Promise.all([page.waitForEvent('download'), click()]);
  const path = await dl.path();
  return { name: dl.suggestedFilename(), bytes: readFileSync(path) };
}

test('a coordinator downloads households as GBK CSV, UTF-8 CSV and GeoJSON', async (t) => {
  const { page, server } = await setup(t);
  await page.goto(`${server.url}/`);
  await login(page, 'coordinator');
  await page.locator('nav.sidebar a', { hasText: '数据导入导出' }).click();
  const form = page.locator('[data-testid=export-form]');
  await form.waitFor();
  assert.match(await page.locator('.card', { hasText: '部门数据导入' }).innerText(), /区民政局或系统管理员/);

  await form.locator('select[name=encoding]').selectOption('gbk');
  const gbk = await downloadOf(page, () => form.getByRole('button', { name: '下载' }).click());
  assert.match(gbk.name, /^households.*\.csv$/);
  assert.notEqual(gbk.bytes[0], 0xef, 'no UTF-8 BOM in a GBK file');
  const text = new TextDecoder('gbk').decode(gbk.bytes);
  const lines = text.trim().split(/\r?\n/);
  assert.ok(lines.length > 10, `rows: ${lines.length}`);
  assert.match(lines[0], /地址/, `a GBK file has its header in Chinese: ${lines[0]}`);
  assert.match(lines.slice(1).join('\n'), /[\u4e00-\u9fff]/, 'Chinese addresses survive the GBK round trip');
  await page.locator('[data-testid=export-done]').waitFor();

  await form.locator('select[name=encoding]').selectOption('utf8');
  const utf8 = await downloadOf(page, () => form.getByRole('button', { name: '下载' }).click());
  assert.deepEqual([...utf8.bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 with a BOM for Excel');
  const utf8Lines = utf8.bytes.toString('utf8').replace(/^\uFEFF/, '').trim().split(/\r?\n/);
  assert.equal(utf8Lines.length, lines.length, 'the same rows in both encodings');
  assert.match(utf8Lines[0], /^household_id,/, 'UTF-8 keeps the wire names by default');
  // English headers in GBK when asked for.
  await form.locator('select[name=encoding]').selectOption('gbk');
  await form.locator('select[name=header]').selectOption('en');
  const gbkEn = await downloadOf(page, () => form.getByRole('button', { name: '下载' }).click());
  assert.match(new TextDecoder('gbk').decode(gbkEn.bytes).split(/\r?\n/)[0], /^household_id,/);
  await form.locator('select[name=encoding]').selectOption('utf8');
  await form.locator('select[name=header]').selectOption('');

  await form.locator('select[name=format]').selectOption('geojson');
  const geo = await downloadOf(page, () => form.getByRole('button', { name: '下载' }).click());
  const fc = JSON.parse(geo.bytes.toString('utf8'));
  assert.equal(fc.type, 'FeatureCollection');
  assert.ok(fc.features.length > 0 && fc.features[0].geometry.type === 'Point');
  await shot(page, 'data-export');
});

/** A valid GB 11643 number from 17 digits. */
function withCheck(body17) {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = w.reduce((acc, wi, i) => acc + wi * Number(body17[i]), 0);
  return body17 + '10X98765432'[sum % 11];
}

test('the district officer imports unemployment records and gets the unmatched rows back', async (t) => {
  const { page, server } = await setup(t);
  // A member of the district, found through the API the way an officer would.
  const token = await apiToken(server, 'district');
  const list = await apiCall(server, token, 'GET', '/households?limit=5');
  const reveal = await apiCall(server, token, 'POST', `/households/${list.items[0].id}/reveal`, { reason: '端到端测试：准备部门比对数据' });
  const known = reveal.members[0].id_number;
  const stranger = withCheck('11010119800101123');
  const csv = ['登记编号,身份证号,失业日期', `E2E-1,${known},2026-11-02`, `E2E-2,${stranger},2026-11-03`, 'E2E-3,not-an-id,2026-11-04', ''].join('\n');

  await page.goto(`${server.url}/`);
  await login(page, 'district');
  await page.goto(`${server.url}/#/data`);
  const form = page.locator('[data-testid=import-form]');
  await form.locator('select[name=source]').selectOption('unemployment');
  await form.locator('input[type=file]').setInputFiles({ name: 'unemployment.csv', mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') });
  await form.getByRole('button', { name: '开始导入' }).click();
  const report = page.locator('[data-testid=import-report]');
  await report.waitFor({ timeout: 60_000 });
  const stats = await report.locator('.stat').allInnerTexts();
  const figure = (word) => Number(stats.find((s) => s.includes(word)).split('\n')[0].replace(/[^\d]/g, ''));
  assert.equal(figure('总行数'), 3);
  assert.equal(figure('匹配到成员'), 1);
  assert.equal(figure('未匹配'), 1);
  assert.equal(figure('错误行'), 1);
  assert.match(await report.locator('.errors-table').innerText(), /4/, 'the bad row is reported by its line');
  await shot(page, 'data-import');

  const back = await downloadOf(page, () => page.locator('[data-testid=download-unmatched]').click());
  const rows = back.bytes.toString('utf8').replace(/^\uFEFF/, '').trim().split(/\r?\n/);
  assert.equal(rows.length, 2, rows.join('\n'));
  assert.match(rows[1], /E2E-2/);
  assert.ok(!rows[1].includes(stranger), 'the unmatched file masks the ID number');
});
