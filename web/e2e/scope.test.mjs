// Scope in the browser: a street officer of the neighbouring street sees none of the first street's
// tasks, visits, findings or applications (not in the lists, and "not found" when opened by
// address), and a grid worker is turned away from the console.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, openConsole, login, shot } from './harness.mjs';
import { all, tokens, me, workerHousehold, submitVisit, openFinding } from './workflow.fixtures.mjs';
import { apiCall } from './harness.mjs';

test('the neighbouring street officer sees none of the first street', async (t) => {
  const { server, page } = await setup(t);
  const tk = await tokens(server, 'street', 'street2', 'coordinator', 'worker1', 'citizen');
  // The first street's work, whatever the demo seeded: an application, a visit, findings.
  const { worker, household } = await workerHousehold(server, tk);
  await apiCall(server, tk.coordinator, 'POST', '/applications', { household_id: household.id, categories: ['dibao'] });
  await submitVisit(server, tk, { household, worker, staff: [(await me(server, tk.coordinator)).id] });
  await openFinding(server, tk);
  // What the first street holds, through the API.
  const apps = await all(server, tk.street, '/applications', {}, 2);
  const findings = await all(server, tk.street, '/findings', {}, 2);
  const visits = await all(server, tk.street, '/visits', {}, 2);
  assert.ok(apps.length > 0 && visits.length > 0 && findings.length > 0, 'the first street has applications, visits and findings');
  // And what the second holds: nothing of the first.
  const theirs = new Set((await all(server, tk.street2, '/applications', {}, 2)).map((a) => a.id));
  for (const a of apps) assert.ok(!theirs.has(a.id), `street2 must not list application ${a.id}`);

  await openConsole(page, server, 'street2');
  await page.goto(`${server.url}/#/applications`);
  await page.locator('[data-screen=applications] table.table').waitFor();
  await page.locator('[data-screen=applications] .table-wrap').filter({ hasNot: page.locator('.is-loading') }).waitFor();
  const listed = await page.locator('[data-application]').evaluateAll((els) => els.map((e) => e.dataset.application));
  for (const a of apps) assert.ok(!listed.includes(a.id), `application ${a.id} of the first street is listed for street2`);

  // Opened by address: the API answers 404, the screen says "not found or outside your area".
  page.allow(404, `/api/v1/applications/${apps[0].id}`);
  await page.goto(`${server.url}/#/applications/${apps[0].id}`);
  await page.locator('[data-testid=not-found]').waitFor();
  assert.match(await page.locator('[data-testid=not-found]').innerText(), /不在您的管辖范围内/);
  await shot(page, 'scope-street2-application');

  page.allow(404, `/api/v1/visits/${visits[0].id}`);
  await page.goto(`${server.url}/#/visits/${visits[0].id}`);
  await page.locator('[data-testid=not-found]').waitFor();
  const theirVisits = new Set((await all(server, tk.street2, '/visits', {}, 2)).map((v) => v.id));
  assert.ok(visits.every((v) => !theirVisits.has(v.id)), 'no visit of the first street reaches street2');
  await page.goto(`${server.url}/#/findings`);
  await page.locator('[data-screen=findings] table.table:not(.is-loading)').waitFor();
  const firstStreet = new Set(findings.map((f) => f.id));
  const shownFindings = await page.locator('[data-row-finding]').evaluateAll((els) => els.map((e) => e.dataset.rowFinding));
  assert.ok(shownFindings.every((id) => !firstStreet.has(id)), 'no finding of the first street on street2’s screen');

  // The task board: street2's own tasks only.
  const firstTasks = new Set((await all(server, tk.street, '/tasks', {}, 5)).map((x) => x.id));
  await page.goto(`${server.url}/#/tasks`);
  await page.locator('[data-column=assigned]').waitFor();
  await page.locator('[data-screen=tasks] .state-loading').first().waitFor({ state: 'detached' });
  const cards = await page.locator('[data-task]').evaluateAll((els) => els.map((e) => e.dataset.task));
  assert.ok(cards.length > 0, 'street2 has tasks of its own on the board');
  assert.ok(cards.every((id) => !firstTasks.has(id)), 'no task of the first street on street2’s board');
  await shot(page, 'scope-street2-tasks');
  const theirFindings = await all(server, tk.street2, '/findings', {}, 2);
  assert.ok(theirFindings.every((f) => !firstStreet.has(f.id)), 'no finding of the first street reaches street2');
});

test('a grid worker is turned away from the console', async (t) => {
  const { server, page } = await setup(t);
  await page.goto(`${server.url}/`);
  await login(page, 'worker1', { expect: 'notice', url: server.url });
  assert.match(await page.locator('[data-testid=phone-app-notice]').innerText(), /网格员/);
  assert.equal(await page.locator('nav.sidebar').count(), 0);
  // The workflow screens stay behind the log-in gate.
  await page.goto(`${server.url}/#/tasks`);
  await page.locator('input[name=username]').waitFor();
  assert.equal(await page.locator('[data-screen=tasks]').count(), 0);
  await shot(page, 'scope-grid-worker');
});
