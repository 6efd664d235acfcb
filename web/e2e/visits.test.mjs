// Visit review: the queue puts flagged visits first; a flagged visit shows each flag with its
// evidence (the distance drawn to scale, photos side by side), the answers under the form's labels
// with the skipped questions left out, photos opening their display copy; the coordinator sends it
// back with a comment.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, openConsole, shot, apiCall, ARTIFACTS } from './harness.mjs';
import { all, tokens, workerHousehold, submitVisit, picture, uploadPhoto } from './workflow.fixtures.mjs';

test('a coordinator reviews a flagged visit and sees its evidence', async (t) => {
  const { server, page } = await setup(t);
  const tk = await tokens(server, 'coordinator', 'worker1');
  // Two visits by worker1 as the phone sends them: the second 600 m from its household, with
  // the first one's photo sent again under a new id.
  const { worker, household } = await workerHousehold(server, tk);
  const coordinator = await apiCall(server, tk.coordinator, 'GET', '/me');
  const bytes = picture(3);
  const first = await uploadPhoto(server, tk.worker1, bytes);
  const { household: neighbour } = await workerHousehold(server, tk, { skip: 1 });
  await submitVisit(server, tk, { household: neighbour, worker, staff: [coordinator.id], photos: [first] });
  const again = await uploadPhoto(server, tk.worker1, bytes);
  const far = await submitVisit(server, tk, { household, worker, offsetM: 600, staff: [coordinator.id], photos: [again] });
  const flag = far.flags.find((f) => f.code === 'far_from_household');
  assert.ok(flag, `the server flags a visit 600 m away: ${JSON.stringify(far.flags.map((f) => f.code))}`);
  const dup = far.flags.find((f) => f.code === 'duplicate_photo');
  assert.ok(dup, `the server flags the photo sent again: ${JSON.stringify(far.flags.map((f) => f.code))}`);

  await openConsole(page, server, 'coordinator');
  await page.goto(`${server.url}/#/visits`);
  const rows = page.locator('[data-screen=visits] tbody tr');
  await rows.first().waitFor();
  await page.locator('[data-screen=visits] .state-loading').waitFor({ state: 'detached' });
  const flags = await rows.evaluateAll((els) => els.map((e) => e.dataset.flagged));
  assert.equal(flags[0], 'true', 'a flagged visit heads the queue');
  assert.ok(flags.indexOf('false') < 0 || flags.lastIndexOf('true') < flags.indexOf('false'), 'every flagged visit comes before the unflagged ones');
  const flaggedCount = (await all(server, tk.coordinator, '/visits', { review_state: 'pending', flagged: 'true' }, 1)).length;
  const unflagged = (await all(server, tk.coordinator, '/visits', { review_state: 'pending', flagged: 'false' }, 1)).length;
  if (flaggedCount < 50 && unflagged > 0) assert.ok(flags.includes('false'), 'the unflagged visits follow on the same page');
  await shot(page, 'visits-queue');

  // The visit: its flag with the distance drawn.
  await page.goto(`${server.url}/#/visits/${far.id}`);
  const card = page.locator('.wf-flag[data-flag=far_from_household]');
  await card.waitFor();
  assert.match(await card.locator('svg.wf-map').textContent(), new RegExp(`${Math.round(flag.evidence.distance_m)} m`));
  assert.ok(await card.locator('svg .wf-map-allowed').count(), 'the allowed radius is drawn');
  assert.match(await card.innerText(), /距登记住址/);

  // The answers under the form's labels; the questions that did not apply are left out.
  const form = await apiCall(server, tk.coordinator, 'GET', `/forms/${far.form_key}/versions/${far.form_version}`);
  const answers = page.locator('.wf-answers').first();
  await answers.waitFor();
  const answered = form.definition.fields.filter((f) => !['repeat', 'note', 'calculate'].includes(f.kind) && far.answers[f.name] !== undefined);
  assert.ok(answered.length > 3);
  for (const f of answered.slice(0, 6)) {
    const row = answers.locator(`:scope > [data-field="${f.name}"]`);
    assert.equal(await row.count(), 1, `answer ${f.name} is shown`);
    assert.ok((await row.locator('dt').innerText()).includes(f.label.zh ?? f.label.en), `${f.name} under its label`);
  }
  const skipped = form.definition.fields.filter((f) => f.relevant && far.answers[f.name] === undefined && !['repeat', 'note', 'calculate'].includes(f.kind));
  for (const f of skipped) {
    assert.equal(await answers.locator(`:scope > [data-field="${f.name}"]`).count(), 0, `${f.name} did not apply and is not shown`);
  }
  await shot(page, 'visit-flagged', { fullPage: true });

  // The reused photo beside the one it repeats; thumbnails open the display copy.
  const side = page.locator('.wf-flag[data-flag=duplicate_photo] .wf-side-by-side img');
  await side.nth(1).waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('.wf-side-by-side img, .wf-photos img')].every((i) => i.complete && i.naturalWidth > 0));
  assert.deepEqual(await side.evaluateAll((els) => els.map((e) => e.dataset.photo)), [dup.evidence.photo_id, ...dup.evidence.other_photo_ids]);
  await page.locator('.wf-flag[data-flag=duplicate_photo]').screenshot({ path: `${ARTIFACTS}/visit-duplicate-photo.png` });
  await page.locator('.wf-photos img.wf-photo').first().click();
  await page.waitForFunction(() => document.querySelector('.wf-viewer img')?.naturalWidth >= 640);
  await shot(page, 'visit-photo-display');
  await page.keyboard.press('Escape');
  await page.locator('.wf-viewer').waitFor({ state: 'detached' });

  // Sent back with a comment.
  await page.goto(`${server.url}/#/visits/${far.id}`);
  await page.locator('input[name=decision][value=has_issues]').check();
  const submit = page.locator('[data-action=submit-review]');
  assert.ok(await submit.isDisabled(), 'has issues needs a comment');
  await page.locator('textarea[name=review-note]').fill('定位距住址六百米，请补充说明并重新入户');
  await submit.click();
  await page.locator('.toast', { hasText: '已审核' }).waitFor();
  await page.locator('.card', { hasText: '审核结果' }).waitFor();
  const after = await apiCall(server, tk.coordinator, 'GET', `/visits/${far.id}`);
  assert.equal(after.review_state, 'has_issues');
  assert.equal(after.review_note, '定位距住址六百米，请补充说明并重新入户');
});
