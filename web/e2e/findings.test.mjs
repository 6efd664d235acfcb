// Findings: the coordinator opens a finding's evidence, converts it into an application (the
// suggested categories ticked) and lands on that application; another is dismissed with a reason.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, openConsole, shot, apiCall } from './harness.mjs';
import { tokens, openFinding } from './workflow.fixtures.mjs';

test('a coordinator converts a finding into an application and dismisses another', async (t) => {
  const { server, page } = await setup(t);
  const tk = await tokens(server, 'coordinator', 'worker1', 'citizen');
  const open = await openFinding(server, tk);
  assert.ok(open.length >= 2, 'two open findings with a household in the coordinator’s community');

  await openConsole(page, server, 'coordinator');
  await page.goto(`${server.url}/#/findings`);
  await page.locator('[data-screen=findings] tbody tr').first().waitFor();
  await shot(page, 'findings-queue');

  // The queue is paged oldest first: page on until the chosen finding shows.
  const pickRow = async (finding) => {
    for (let i = 0; i < 50; i++) {
      await page.locator('[data-screen=findings] table.table:not(.is-loading)').waitFor();
      const row = page.locator(`[data-row-finding="${finding.id}"]`);
      if (await row.count()) {
        await row.click();
        const side = page.locator(`.wf-split-side [data-finding="${finding.id}"]`);
        await side.waitFor();
        return side;
      }
      const next = page.locator('[data-screen=findings] .pager button', { hasText: '下一页' });
      assert.ok(!(await next.isDisabled()), `finding ${finding.id} is in the queue`);
      await next.click();
    }
    throw new Error('finding not found');
  };

  const target = open[0];
  const detail = await pickRow(target);
  const evidence = detail.locator('[data-testid=finding-evidence]');
  await evidence.waitFor();
  const inputs = Object.keys(target.inputs ?? {}).filter((k) => target.inputs[k] !== null);
  assert.ok((await evidence.locator('tr').count()) >= Math.min(inputs.length, 1), 'the facts the rule read are listed');
  await shot(page, 'findings-evidence');

  await detail.locator('[data-action=convert]').click();
  const dialog = page.locator('.modal');
  for (const c of target.categories) {
    assert.ok(await dialog.locator(`input[name=category][value=${c}]`).isChecked(), `suggested ${c} is ticked`);
  }
  // A citizen's report suggests nothing: the coordinator picks the category.
  const requested = target.categories.length ? target.categories : ['temporary'];
  if (!target.categories.length) {
    assert.ok(await dialog.locator('[data-action=confirm-convert]').isDisabled(), 'an application needs a category');
    await dialog.locator('input[name=category][value=temporary]').check();
  }
  await dialog.locator('textarea[name=note]').fill('网格员走访发现，代为申请');
  await dialog.locator('[data-action=confirm-convert]').click();
  await page.waitForURL(/#\/applications\/[0-9a-f-]+$/);
  await page.locator('[data-screen=application]').waitFor();
  const appId = page.url().split('/').pop();
  assert.match(await page.locator('[data-testid=application-state]').innerText(), /已提交/);
  const converted = await apiCall(server, tk.coordinator, 'GET', `/findings/${target.id}`);
  assert.equal(converted.state, 'converted');
  assert.equal(converted.application_id, appId);
  const app = await apiCall(server, tk.coordinator, 'GET', `/applications/${appId}`);
  assert.deepEqual(app.categories.map((c) => c.category).sort(), [...requested].sort());
  await shot(page, 'findings-converted-application');

  // Dismissed with a reason.
  await page.goto(`${server.url}/#/findings`);
  const other = open[1];
  const second = await pickRow(other);
  await second.locator('[data-action=dismiss]').click();
  const dismiss = page.locator('.modal');
  assert.ok(await dismiss.locator('.modal-foot .btn-primary').isDisabled(), 'no dismissal without a reason');
  await dismiss.locator('textarea[name=reason]').fill('经核实家庭已有稳定收入');
  await dismiss.locator('.modal-foot .btn-primary').click();
  await page.locator('.toast', { hasText: '已排除' }).waitFor();
  const dismissed = await apiCall(server, tk.coordinator, 'GET', `/findings/${other.id}`);
  assert.equal(dismissed.state, 'dismissed');
  assert.equal(dismissed.reason, '经核实家庭已有稳定收入');
});
