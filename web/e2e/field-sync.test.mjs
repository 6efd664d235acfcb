// Sync as the SDK does it: a citizen's self-report becomes a verify task on the grid worker's phone
// at the next sync (here by pulling the task list down), and a task reassigned to another worker
// leaves the phone by its tombstone.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shot } from './harness.mjs';
import { phone, fieldLogin, apiToken, apiCall } from './field.fixtures.mjs';

/** A finger pulling the task list down from the top (touch events through CDP). */
async function pullDown(page, cdp) {
  const box = await page.locator('[data-testid=task-list]').boundingBox();
  const x = Math.round(box.x + box.width / 2);
  const y = Math.round(box.y + 10);
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x, y }] });
  for (let dy = 20; dy <= 160; dy += 20) {
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x, y: y + dy }] });
  }
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
}

test("a citizen's self-report turns into a verify task after a pull-to-refresh; a reassigned task leaves", async (t) => {
  const world = await phone(t);
  const { page, context } = world;
  await fieldLogin(page, world.url);
  const count = async () => page.locator('[data-testid=task]').count();
  const first = await count();

  const citizen = await apiToken(world.server, 'citizen');
  const worker = await apiToken(world.server, 'worker1');
  const synced = await apiCall(world.server, worker, 'GET', '/sync');
  const inGrid = synced.households.find((h) => h.location).location;
  const report = await apiCall(world.server, citizen, 'POST', '/self-reports', {
    description: '家中老人重病卧床，无人照料', address: '红梅新村自报测试户', contact_phone: '13800138000',
    location: { lat: inGrid.lat, lon: inGrid.lon, crs: 'wgs84' },
  });
  assert.equal(report.status, 'verifying');

  // The coordinator gives one of worker1's tasks to another worker of worker1's grid (a task goes
  // only to a worker whose grid holds the household).
  const coordinator = await apiToken(world.server, 'coordinator');
  const grid = (await apiCall(world.server, worker, 'GET', '/me')).org_unit_id;
  const worker2 = await apiCall(world.server, coordinator, 'POST', '/users', {
    username: 'worker1.b', password: 'a-good-password', display_name: '网格员一（二）', role: 'grid_worker', org_unit_id: grid,
  });
  const moved = synced.tasks.find((x) => x.kind === 'verify');
  await apiCall(world.server, coordinator, 'POST', `/tasks/${moved.id}/assign`, { assignee_id: worker2.id });

  const cdp = await context.newCDPSession(page);
  const answered = page.waitForResponse((r) => r.url().includes('/api/v1/sync?cursor='));
  await pullDown(page, cdp);
  await answered;
  const added = page.locator('[data-testid=task]', { hasText: '红梅新村自报测试户' });
  await added.waitFor();
  assert.match(await added.innerText(), /核实/);
  await page.locator(`a[href="#/task/${moved.id}"]`).waitFor({ state: 'detached' });
  assert.equal(await count(), first, 'one task came, one left');
  await shot(page, 'field-tasks-after-sync');

  // The new household's card is on the phone, and its point is on the grid map.
  await added.click();
  await page.locator('[data-testid=household] h2', { hasText: '红梅新村自报测试户' }).waitFor();
  await page.goto(`${world.url}/field/#/map`);
  await page.locator('[data-testid=grid-map] path.boundary').waitFor();
  assert.equal(await page.locator('[data-testid=map-household]').count(), first);
  await shot(page, 'field-map');

  // English on request, kept after a reload.
  await page.locator('header button.lang').click();
  await page.locator('[data-testid=tab-tasks]', { hasText: 'Tasks' }).click();
  await page.locator('h2', { hasText: 'My tasks' }).waitFor();
  await page.reload();
  await page.locator('h2', { hasText: 'My tasks' }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
});
