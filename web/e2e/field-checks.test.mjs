// The field app and the server's judgement: a fix far from the household is flagged (and the
// photos' carried-over EXIF is read like an original's), the form blocks a constraint violation with
// the server's Chinese message, and a permanent refusal stops retrying and says what to do.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shot } from './harness.mjs';
import { phone, fieldLogin, makeJpeg, fillHomeVisit, apiToken, apiCall, north, choose } from './field.fixtures.mjs';

async function worker1Task(world, kind = 'visit') {
  const token = await apiToken(world.server, 'worker1');
  const page = await apiCall(world.server, token, 'GET', '/sync');
  const task = page.tasks.find((x) => x.kind === kind) ?? page.tasks[0];
  const household = page.households.find((h) => h.id === task.household_id);
  return { task, household, home: household.location };
}

async function openVisit(page, taskId) {
  await page.locator(`a[href="#/task/${taskId}"]`).first().click();
  await page.locator('[data-testid=start-visit]').click();
  await page.locator('[data-testid=visit]').waitFor();
}

test('a fix 500 m from the household is flagged far_from_household; photo EXIF 1 km off is photo_far', async (t) => {
  const world = await phone(t);
  const { page, context } = world;
  const { task, household, home } = await worker1Task(world);
  const far = north(home, 500);
  await context.setGeolocation({ latitude: far.lat, longitude: far.lon, accuracy: 10 });
  await fieldLogin(page, world.url);
  await openVisit(page, task.id);
  await page.locator('[data-testid=fix]', { hasText: '500 米' }).waitFor();
  await page.locator('.warn-line', { hasText: '较远' }).waitFor();
  const elsewhere = north(home, -500);
  const house = await makeJpeg(page, { seed: 5, lat: elsewhere.lat, lon: elsewhere.lon });
  const sheet = await makeJpeg(page, { seed: 6, lat: elsewhere.lat, lon: elsewhere.lon });
  await fillHomeVisit(page, { photos: { house, sheet } });
  await page.locator('[data-testid=finish]').click();
  await page.locator('[data-testid=outbox-item][data-state=sent]').waitFor({ timeout: 60_000 });
  await page.locator('[data-testid=outbox-item]', { hasText: '定位离住户过远' }).waitFor();
  await shot(page, 'field-outbox-flagged');

  const token = await apiToken(world.server, 'coordinator');
  const visits = (await apiCall(world.server, token, 'GET', `/visits?household_id=${household.id}&limit=50`)).items;
  const visit = visits.find((v) => v.task_id === task.id && v.review_state === 'pending');
  assert.ok(visit, 'the visit is on the server');
  const codes = visit.flags.map((f) => f.code);
  assert.ok(codes.includes('far_from_household'), `flags: ${codes}`);
  const far500 = visit.flags.find((f) => f.code === 'far_from_household');
  assert.ok(far500.evidence.distance_m > 450 && far500.evidence.distance_m < 550, JSON.stringify(far500.evidence));
  assert.ok(codes.includes('photo_far'), `the shrunk photos kept their EXIF position: ${codes}`);
});

test('a constraint violation shows the Chinese message and blocks sending', async (t) => {
  const world = await phone(t);
  const { page, context } = world;
  const { task, home } = await worker1Task(world);
  await context.setGeolocation({ latitude: home.lat, longitude: home.lon, accuracy: 8 });
  await fieldLogin(page, world.url);
  let posted = 0;
  page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/api/v1/visits')) posted++; });
  await openVisit(page, task.id);
  await fillHomeVisit(page, {});
  // The visit date may not be in the future; the head must come first.
  await page.locator('[data-field="visit_date"] input').fill('2099-01-01');
  await page.locator('[data-field="visit_date"] input').blur();
  await page.locator('[data-field="visit_date"] .error-line', { hasText: '走访日期不能晚于今天' }).waitFor();
  await choose(page, 'members[0].relation', 'spouse');
  await page.locator('[data-field="members[0].relation"] .error-line', { hasText: '户主须列在第一位且只有一位' }).waitFor();
  // Skip logic: "illness" asks for the details, which are then required.
  await choose(page, 'hardship_causes', 'illness');
  await page.locator('[data-field="illness_detail"]').waitFor();
  await page.locator('[data-testid=finish]').click();
  await page.locator('[data-testid=form-message]', { hasText: '处需要填写或改正' }).waitFor();
  await page.locator('[data-field="illness_detail"] .error-line', { hasText: '必填' }).waitFor();
  await shot(page, 'field-form-errors');
  assert.equal(posted, 0, 'nothing was sent');
  await page.goto(`${world.url}/field/#/outbox`);
  await page.locator('[data-testid=outbox]').waitFor();
  assert.equal(await page.locator('[data-testid=outbox-item]').count(), 0, 'nothing was queued');
  // The draft kept the answers; corrected, the visit goes.
  await page.goto(`${world.url}/field/#/visit/${task.id}`);
  await page.locator('[data-field="visit_date"] .error-line').waitFor();
  const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
  await page.locator('[data-field="visit_date"] input').fill(today);
  await choose(page, 'members[0].relation', 'head');
  await choose(page, 'hardship_causes', 'illness');
  await page.locator('[data-field="illness_detail"]').waitFor({ state: 'detached' });
  const photo = await makeJpeg(page, { seed: 8, lat: home.lat, lon: home.lon });
  for (const name of ['house_photo', 'staff_signature']) {
    await page.locator(`[data-testid="photo-${name}"]`).setInputFiles({ name: 'p.jpg', mimeType: 'image/jpeg', buffer: photo });
    await page.locator(`[data-field="${name}"] [data-testid=photo-thumb]`).waitFor();
  }
  await page.locator('[data-testid="reuse-family_signature"]').click();
  await page.locator('[data-testid=finish]').click();
  await page.locator('[data-testid=outbox-item][data-state=sent]').waitFor({ timeout: 60_000 });
  assert.equal(posted, 1);
});

test('a permanent refusal stops retrying and tells the worker what to do', async (t) => {
  const world = await phone(t);
  const { page, context, allow } = world;
  allow(409, '/api/v1/visits');
  const { task, home } = await worker1Task(world);
  await context.setGeolocation({ latitude: home.lat, longitude: home.lon, accuracy: 8 });
  await fieldLogin(page, world.url);
  await context.setOffline(true);
  await openVisit(page, task.id);
  const a = await makeJpeg(page, { seed: 41, lat: home.lat, lon: home.lon });
  const b = await makeJpeg(page, { seed: 42, lat: home.lat, lon: home.lon });
  await fillHomeVisit(page, { photos: { house: a, sheet: b } });
  await page.locator('[data-testid=finish]').click();
  await page.locator('[data-testid=outbox-item][data-state=queued]').waitFor();
  // Meanwhile the coordinator cancels the task.
  const token = await apiToken(world.server, 'coordinator');
  await apiCall(world.server, token, 'POST', `/tasks/${task.id}/cancel`, { reason: '住户已搬离' });
  let posts = 0;
  page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/api/v1/visits')) posts++; });
  await context.setOffline(false);
  const item = page.locator('[data-testid=outbox-item][data-state=needs_attention]');
  await item.waitFor({ timeout: 60_000 });
  assert.match(await item.innerText(), /任务已取消、关闭或改派/);
  assert.match(await item.innerText(), /请联系社区协调员/);
  await shot(page, 'field-outbox-refused');
  // Another pass (the worker pulls to refresh) does not send it again.
  await page.locator('[data-testid=send-now]').click();
  await page.locator('[data-testid=status]', { hasText: '已同步' }).waitFor();
  assert.equal(posts, 1, 'refused once, never retried');
  assert.equal(await item.count(), 1);
});

test('a visit refused because its photo is not on the server is retried, not a dead end', async (t) => {
  const world = await phone(t);
  const { page, context, allow } = world;
  allow(422, '/api/v1/visits');
  const { task, household, home } = await worker1Task(world);
  await context.setGeolocation({ latitude: home.lat, longitude: home.lon, accuracy: 8 });
  await fieldLogin(page, world.url);
  await context.setOffline(true);
  await openVisit(page, task.id);
  const a = await makeJpeg(page, { seed: 51, lat: home.lat, lon: home.lon });
  const b = await makeJpeg(page, { seed: 52, lat: home.lat, lon: home.lon });
  await fillHomeVisit(page, { photos: { house: a, sheet: b } });
  await page.locator('[data-testid=finish]').click();
  await page.locator('[data-testid=outbox-item][data-state=queued]').waitFor();
  // The phone believes one photo went up (an answer from a server that then lost it, say).
  await page.evaluate(async () => {
    const base = document.querySelector('script[type=module]').src.replace(/app\.js$/, '');
    const store = await import(`${base}store.js`);
    const [v] = await store.visits();
    await store.updatePhoto(v.body.photo_ids[0], { state: 'sent' });
  });
  const refusals = [];
  page.on('response', (r) => { if (r.url().endsWith('/api/v1/visits')) refusals.push(r.status()); });
  await context.setOffline(false);
  await page.locator('[data-testid=outbox-item][data-state=sent]').waitFor({ timeout: 60_000 });
  assert.deepEqual(refusals, [422, 201], 'refused for the missing photo, then sent after uploading it again');
  const token = await apiToken(world.server, 'coordinator');
  const visit = (await apiCall(world.server, token, 'GET', `/visits?household_id=${household.id}&limit=50`)).items.find((v) => v.task_id === task.id);
  assert.equal(visit.photo_ids.length, 2);
});
