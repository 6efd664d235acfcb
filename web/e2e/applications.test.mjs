// Applications: the street officer carries an application from submission through acceptance, the
// home investigation (the data check, the visit with its two investigators) and first review to the
// 7-day public notice, offered only the street's steps; the district officer, who decides, finds
// the approval waiting for the notice to end, and approves the application whose notice has ended.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, openConsole, login, shot, apiCall } from './harness.mjs';
import { all, tokens, me, workerHousehold, submitVisit, chinaDate } from './workflow.fixtures.mjs';

const stepsOn = (page) => page.locator('[data-testid=steps] [data-step]').evaluateAll((els) => els.map((e) => e.dataset.step));

async function take(page, action, fill = async () => {}) {
  const step = page.locator(`[data-step=${action}]`);
  await step.locator(`[data-action=${action}]`).click();
  const form = page.locator(`[data-step-form=${action}]`);
  await form.waitFor();
  await fill(form);
  const version = await page.locator('[data-screen=application]').getAttribute('data-version');
  await form.locator('[data-action=confirm-step]').click();
  // Done when the answer's version is on the screen (the step's form closes with it).
  await page.locator(`[data-screen=application]:not([data-version="${version}"])`).waitFor();
  await form.waitFor({ state: 'detached' });
}

test('the street officer and then the district officer carry an application to approval', async (t) => {
  const { server, page } = await setup(t);
  const tk = await tokens(server, 'coordinator', 'worker1', 'street', 'district');
  const today = chinaDate(0);

  // A family the community files for, and its home visit by two staff (worker1 and the coordinator).
  const { worker, household } = await workerHousehold(server, tk);
  const coordinator = await me(server, tk.coordinator);
  const filed = await apiCall(server, tk.coordinator, 'POST', '/applications', { household_id: household.id, categories: ['dibao'], note: '社区代为申请' });
  const visit = await submitVisit(server, tk, { household, worker, staff: [coordinator.id] });

  // The list: clocks and overdue markers.
  await openConsole(page, server, 'street');
  await page.goto(`${server.url}/#/applications`);
  await page.locator('[data-screen=applications] tbody tr').first().waitFor();
  const overdue = (await all(server, tk.street, '/applications', { overdue: 'true' }, 1)).length;
  if (overdue) {
    await page.locator('input[name=overdue]').check();
    await page.locator('[data-screen=applications] tbody tr.is-overdue').first().waitFor();
    assert.ok(await page.locator('.wf-clock.is-late').count() > 0, 'an overdue step shows its clock late');
    await shot(page, 'applications-overdue');
    await page.locator('input[name=overdue]').uncheck();
  }
  await shot(page, 'applications-list');
  // The street's own work is marked: the application just filed waits for the street to accept it.
  const row = page.locator('[data-screen=applications] tbody tr', { has: page.locator(`[data-application="${filed.id}"]`) });
  // (After the overdue filter is cleared the list loads again: wait for it rather than count a
  // table still being replaced.)
  await row.first().waitFor();
  assert.equal(await row.count(), 1, 'the filed application is on the first page');
  assert.match(await row.innerText(), /待您办理/);

  await page.goto(`${server.url}/#/applications/${filed.id}`);
  await page.locator('[data-screen=application]').waitFor();
  let steps = await stepsOn(page);
  assert.ok(steps.includes('accept') && steps.includes('return'), `the street may accept or return: ${steps}`);
  for (const not of ['approve', 'refuse', 'investigate', 'start_notice']) assert.ok(!steps.includes(not), `${not} is not offered at submission`);

  await take(page, 'accept');
  await page.locator('[data-screen=application][data-state=accepted]').waitFor();
  await take(page, 'investigate');
  await page.locator('[data-screen=application][data-state=investigating]').waitFor();
  steps = await stepsOn(page);
  assert.ok(steps.includes('finish_investigation'));
  assert.ok(await page.locator('[data-step=finish_investigation] [data-action=finish_investigation]').isDisabled(), 'no finishing before the data check');
  assert.match(await page.locator('[data-step=finish_investigation]').innerText(), /信息核对/);

  await take(page, 'record_data_check', async (form) => {
    assert.ok(await form.locator('[data-action=confirm-step]').isDisabled(), 'the check needs its reference');
    await form.locator('input[name=data_check_reference]').fill('HD-2026-0815');
  });
  await take(page, 'finish_investigation', async (form) => {
    await form.locator('select[name=visit_id]').selectOption(visit.id);
    const investigators = form.locator('[data-testid=investigators] .badge');
    assert.equal(await investigators.count(), 2, 'the two investigators of the visit');
    const names = await investigators.allInnerTexts();
    assert.ok(names.includes(coordinator.display_name) && names.includes(worker.display_name), `investigators: ${names}`);
    await shot(page, 'application-investigators');
  });
  await page.locator('[data-screen=application][data-state=first_review]').waitFor();

  await take(page, 'start_notice', async (form) => {
    const dates = await form.locator('[data-testid=notice-dates]').innerText();
    assert.ok(dates.includes(today), `the notice starts today: ${dates}`);
    await form.locator('input[name=public_note]').fill('经入户调查和信息核对，拟纳入最低生活保障，现予公示');
  });
  await page.locator('[data-screen=application][data-state=public_notice]').waitFor();
  const notice = page.locator('[data-testid=public-notice]');
  await notice.waitFor();
  const after = await apiCall(server, tk.street, 'GET', `/applications/${filed.id}`);
  assert.equal(after.state, 'public_notice');
  assert.ok((await notice.innerText()).includes(after.notice_ends_on), 'the notice shows its last day');
  assert.equal(after.data_check.reference, 'HD-2026-0815');
  assert.equal(after.visit_id, visit.id);
  steps = await stepsOn(page);
  if (!after.delegated) assert.ok(!steps.includes('approve'), 'the street does not decide unless delegated');
  await shot(page, 'application-public-notice', { fullPage: true });

  // The district officer: the approval waits for the notice to end.
  await page.locator('.topbar button', { hasText: '退出' }).click();
  await login(page, 'district', { url: server.url });
  await page.goto(`${server.url}/#/applications/${filed.id}`);
  await page.locator('[data-screen=application][data-state=public_notice]').waitFor();
  if (!after.delegated) {
    const approve = page.locator('[data-step=approve]');
    await approve.waitFor();
    assert.ok(await approve.locator('[data-action=approve]').isDisabled(), 'no approval while the notice runs');
    assert.match(await approve.innerText(), /公示期未满/);
    await shot(page, 'application-district-waits');
  }

  // And approves the one the demo city holds whose notice has ended without objection.
  const ended = (await all(server, tk.district, '/applications', { state: 'public_notice' }, 5))
    .filter((a) => a.notice_ends_on && a.notice_ends_on < today && a.objections === 0 && !a.delegated);
  assert.ok(ended.length > 0, 'the demo city holds an application whose public notice has ended');
  await page.goto(`${server.url}/#/applications/${ended[0].id}`);
  await page.locator(`[data-screen=application][data-application="${ended[0].id}"]`).waitFor();
  steps = await stepsOn(page);
  assert.ok(steps.includes('approve') && steps.includes('refuse'), `the district decides: ${steps}`);
  assert.ok(!steps.includes('accept') && !steps.includes('start_notice'), 'only the district’s steps are offered');
  await take(page, 'approve', async (form) => {
    await form.locator('input[name=public_note]').fill('经审核，批准享受最低生活保障');
  });
  await page.locator('[data-screen=application][data-state=approved]').waitFor();
  await page.locator('[data-testid=timeline] li[data-action=approve]').waitFor();
  const approved = await apiCall(server, tk.district, 'GET', `/applications/${ended[0].id}`);
  assert.equal(approved.state, 'approved');
  assert.ok(approved.categories.some((c) => c.category === 'dibao' ? c.status === 'granted' : true));
  await shot(page, 'application-approved', { fullPage: true });
});
