// The overview: numbers first, then the charts beside them; a unit picked down the subtree changes the
// figures; the console fits 1280×800 and 1024×768 without a horizontal scrollbar.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, login, shot, publishScreenshot, horizontalOverflow } from './harness.mjs';

const num = (s) => Number(String(s).replace(/[^\d.]/g, ''));

test('the district officer sees the overview with numbers and charts', async (t) => {
  const { page, server } = await setup(t);
  await page.goto(`${server.url}/`);
  await login(page, 'district');
  await page.locator('[data-testid=overview-numbers]').waitFor();
  const tiles = await page.locator('[data-testid=overview-numbers] .stat').allInnerTexts();
  const households = num(tiles.find((x) => x.includes('户数')).split('\n')[0]);
  assert.ok(households >= 1000, `the demo district has its households: ${households}`);
  // Every chart has been drawn by ECharts (a canvas inside) and has its numbers beside it.
  await page.waitForFunction(() => {
    const charts = [...document.querySelectorAll('.chart')];
    return charts.length >= 2 && charts.every((c) => c.dataset.drawn === 'true' && c.querySelector('canvas'));
  }, null, { timeout: 30_000 });
  const statusTable = page.locator('.card', { hasText: '住户救助状态' }).locator('table');
  const statusCounts = (await statusTable.locator('tbody tr td:nth-child(2)').allInnerTexts()).map(num);
  assert.equal(statusCounts.reduce((a, b) => a + b, 0), households, 'households by status add up to the total');
  // The relative poverty line and the MPI are there too.
  await page.locator('[data-testid=relative-poverty]').waitFor();
  await page.locator('[data-testid=mpi-numbers]').waitFor();
  const path = await shot(page, 'overview-district', { fullPage: true });
  publishScreenshot(await shot(page, 'overview'), 'console-overview.png');
  assert.ok(path);

  // Pick the first street: the figures are the street's, smaller than the district's.
  const street = page.locator('.page-head .unit-picker select').first();
  const firstStreet = await street.locator('option').nth(1).getAttribute('value');
  await street.selectOption(firstStreet);
  await page.waitForURL(new RegExp(`unit=${firstStreet}`));
  await page.waitForFunction((before) => {
    const tile = [...document.querySelectorAll('[data-testid=overview-numbers] .stat')].find((x) => x.innerText.includes('户数'));
    return tile && Number(tile.querySelector('.stat-value').innerText.replace(/[^\d]/g, '')) < before;
  }, households);
});

test('the console fits 1280×800 and 1024×768 without horizontal scrolling', async (t) => {
  const { page, server } = await setup(t);
  await page.goto(`${server.url}/`);
  await login(page, 'admin');
  const screens = ['overview', 'households', 'data', 'admin/users', 'admin/forms', 'admin/rules', 'admin/standards', 'tasks', 'visits', 'findings', 'applications'];
  for (const size of [{ width: 1280, height: 800 }, { width: 1024, height: 768 }]) {
    await page.setViewportSize(size);
    for (const s of screens) {
      await page.goto(`${server.url}/#/${s}`);
      await page.locator('main.content .page-head, main.content [data-testid=screen-load-failed]').first().waitFor();
      await page.waitForLoadState('networkidle');
      const over = await horizontalOverflow(page);
      assert.ok(over <= 0, `#/${s} at ${size.width}×${size.height} overflows by ${over}px`);
    }
    await page.goto(`${server.url}/#/overview`);
    await page.locator('[data-testid=overview-numbers]').waitFor();
    await shot(page, `overview-${size.width}x${size.height}`);
  }
});
