// The task board: a coordinator creates the tasks of a whole grid at once, then assigns the ones
// left pending together, from a picker that offers only the workers they may go to, and cancels
// one with a reason. Every step is checked against the API afterwards.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, openConsole, shot, apiCall } from './harness.mjs';
import { all, tokens, me, gridsUnder } from './workflow.fixtures.mjs';

/** The card of a task in a column, loading more of the column until it shows (oldest come first). */
async function findCard(page, column, id) {
  const col = page.locator(`[data-column=${column}]`);
  const card = col.locator(`[data-task="${id}"]`);
  for (let i = 0; i < 100; i++) {
    await col.locator('.state-loading').waitFor({ state: 'detached' });
    if (await card.count()) return card;
    const more = col.locator('button', { hasText: '加载更多' });
    assert.ok(await more.count(), `task ${id} is in the ${column} column`);
    await more.click();
  }
  throw new Error(`task ${id} not found in ${column}`);
}

test('a coordinator bulk-creates and bulk-assigns the tasks of a grid', async (t) => {
  const { server, page } = await setup(t);
  const tk = await tokens(server, 'coordinator', 'admin');
  const coordinator = await me(server, tk.coordinator);
  const grids = await gridsUnder(server, tk.coordinator, coordinator.org_unit_id);
  assert.ok(grids.length >= 2, 'the coordinator’s community has grids');
  const workers = await all(server, tk.coordinator, '/users', { role: 'grid_worker' });
  // Preferably a grid whose households will wait as pending (no worker of its own, or more than one).
  const perGrid = (g) => workers.filter((w) => w.org_unit_id === g.id).length;
  const grid = grids.find((g) => perGrid(g) !== 1) ?? grids[grids.length - 1];
  // A task goes only to a worker whose grid holds the household: give the grid two workers, so
  // its tasks wait as pending and the picker has a choice.
  for (let i = perGrid(grid); i < 2; i++) {
    workers.push(await apiCall(server, tk.coordinator, 'POST', '/users', { username: `grid.helper${i}`, password: 'a-good-password', display_name: `网格员（帮手${i}）`, role: 'grid_worker', org_unit_id: grid.id }));
  }
  const households = await all(server, tk.coordinator, '/households', { grid_id: grid.id });
  assert.ok(households.length > 0, `grid ${grid.code} has households`);
  const before = new Map();
  for (const h of households) before.set(h.id, await all(server, tk.coordinator, '/tasks', { household_id: h.id }));
  const openRecheck = [...before.values()].filter((ts) => ts.some((x) => x.kind === 'recheck' && ['pending', 'assigned', 'accepted'].includes(x.state))).length;

  await openConsole(page, server, 'coordinator');
  await page.goto(`${server.url}/#/tasks`);
  await page.locator('[data-column=pending]').waitFor();
  await shot(page, 'tasks-board');

  // Bulk creation for the grid: the unit picker down to the grid.
  await page.locator('[data-action=bulk]').click();
  const dialog = page.locator('.modal');
  await dialog.locator('.unit-picker select').first().selectOption(grid.id);
  await dialog.locator('select[name=kind]').selectOption('recheck');
  await dialog.locator('[data-action=create-bulk]').click();
  const result = dialog.locator('[data-testid=bulk-result]');
  await result.waitFor();
  await shot(page, 'tasks-bulk-result');
  const created = households.length - openRecheck;
  assert.match(await result.innerText(), new RegExp(`已创建 ${created} 项任务`));
  assert.match(await result.innerText(), new RegExp(`${openRecheck} 户已有同类未完成任务`));
  await dialog.locator('.modal-foot button').click();

  // The new tasks, from the API.
  const mine = [];
  for (const h of households) {
    mine.push(...(await all(server, tk.coordinator, '/tasks', { household_id: h.id }))
      .filter((x) => x.kind === 'recheck' && !before.get(h.id).some((b) => b.id === x.id)));
  }
  assert.equal(mine.length, created);
  const gridWorker = workers.find((w) => w.org_unit_id === grid.id);
  if (perGrid(grid) === 1) {
    assert.ok(mine.every((x) => x.state === 'assigned' && x.assignee_id === gridWorker.id), 'a grid with one worker gets its tasks assigned to them');
  } else {
    assert.ok(mine.every((x) => x.state === 'pending'), 'a grid without exactly one worker leaves its tasks pending');
  }

  // Tick three of the new tasks on the board and assign (or reassign) them together.
  const pick = mine.slice(0, 3);
  assert.ok(pick.length > 0, 'there are new tasks to assign');
  for (const task of pick) {
    const card = await findCard(page, task.state, task.id);
    await card.locator('input[type=checkbox]').check();
  }
  assert.match(await page.locator('[data-testid=selected-count]').innerText(), new RegExp(`已选 ${pick.length} 项`));
  await page.locator('[data-action=assign-selected]').click();
  const picker = page.locator('.modal .wf-workers');
  await picker.waitFor();
  // Only eligible workers: exactly the API's assignable_for of the household, never street2's.
  const offered = await picker.locator('input[type=radio]').evaluateAll((els) => els.map((e) => e.value));
  const eligible = (await all(server, tk.coordinator, '/users', { assignable_for: pick[0].household_id })).map((u) => u.id);
  assert.deepEqual([...offered].sort(), [...eligible].sort());
  // Never a worker of another community (the admin sees the whole city's workers).
  const house = await apiCall(server, tk.coordinator, 'GET', `/households/${pick[0].household_id}`);
  const community = house.grid_code.slice(0, 12);
  const elsewhere = (await all(server, tk.admin, '/users', { role: 'grid_worker' })).filter((u) => !u.org_unit_code.startsWith(community));
  assert.ok(elsewhere.every((u) => !offered.includes(u.id)), 'no worker of another community is offered');
  await shot(page, 'tasks-assign-picker');
  const chosen = offered.find((id) => id !== pick[0].assignee_id);
  assert.ok(chosen, 'another eligible worker to take the tasks');
  await picker.locator(`input[value="${chosen}"]`).check();
  await page.locator('[data-action=confirm-assign]').click();
  await page.locator('.toast', { hasText: `已指派 ${pick.length} 项任务` }).waitFor();
  for (const task of pick) {
    const [now] = (await all(server, tk.coordinator, '/tasks', { household_id: task.household_id })).filter((x) => x.id === task.id);
    assert.equal(now.state, 'assigned');
    assert.equal(now.assignee_id, chosen);
  }

  // Cancel one with a reason.
  const victim = pick[0];
  await page.locator('select[name=filter-assignee]').selectOption(chosen);
  const card = await findCard(page, 'assigned', victim.id);
  await card.locator('[data-action=cancel]').click();
  const cancel = page.locator('.modal');
  assert.ok(await cancel.locator('.modal-foot .btn-danger').isDisabled(), 'no cancellation without a reason');
  await cancel.locator('textarea[name=reason]').fill('户主已搬离本网格');
  await cancel.locator('.modal-foot .btn-danger').click();
  await page.locator('.toast', { hasText: '任务已取消' }).waitFor();
  const [cancelled] = (await all(server, tk.coordinator, '/tasks', { household_id: victim.household_id })).filter((x) => x.id === victim.id);
  assert.equal(cancelled.state, 'cancelled');

  // Bulk creation for a list of households, found by grid and name.
  const listed = households.filter((h) => !before.get(h.id).some((x) => x.kind === 'verify' && ['pending', 'assigned', 'accepted'].includes(x.state))).slice(0, 2);
  await page.locator('[data-action=bulk]').click();
  const listDialog = page.locator('.modal');
  await listDialog.locator('.tabs button', { hasText: '住户清单' }).click();
  await listDialog.locator('.unit-picker select').first().selectOption(grid.id);
  await listDialog.locator('[data-action=search-households]').click();
  await listDialog.locator('[data-testid=household-results]').waitFor();
  for (const h of listed) await listDialog.locator(`input[name=household][value="${h.id}"]`).check();
  assert.match(await listDialog.innerText(), new RegExp(`已选 ${listed.length} 户`));
  await listDialog.locator('select[name=kind]').selectOption('verify');
  await listDialog.locator('[data-action=create-bulk]').click();
  assert.match(await listDialog.locator('[data-testid=bulk-result]').innerText(), new RegExp(`已创建 ${listed.length} 项任务`));
  await listDialog.locator('.modal-foot button').click();
  for (const h of listed) {
    const fresh = (await all(server, tk.coordinator, '/tasks', { household_id: h.id }))
      .filter((x) => x.kind === 'verify' && !before.get(h.id).some((b) => b.id === x.id));
    assert.equal(fresh.length, 1);
    assert.equal(fresh[0].state, perGrid(grid) === 1 ? 'assigned' : 'pending');
  }

  // Overdue tasks are marked on the board.
  // (The board reads a column 30 at a time, oldest first: the filter marks what is loaded.)
  await page.locator('select[name=filter-assignee]').selectOption('');
  const overdue = (await apiCall(server, tk.coordinator, 'GET', '/tasks?state=assigned&limit=30')).items.filter((x) => x.overdue);
  if (overdue.length) {
    await page.locator('label.wf-check', { hasText: '只看逾期' }).locator('input').check();
    const marked = page.locator('[data-column=assigned] .wf-card.is-overdue');
    await marked.first().waitFor();
    assert.equal(await marked.count(), overdue.length);
    assert.match(await marked.first().innerText(), /逾期 \d+ 天/);
    assert.equal(await page.locator('[data-column=assigned] .wf-card:not(.is-overdue)').count(), 0);
    await shot(page, 'tasks-overdue');
  }
});
