// The grid worker's phone app at /field/: a day without signal. Log in and sync online, then with
// no network at all (the browser offline and the server stopped) record a visit with two photos
// and a GPS fix, reload mid-form and after finishing: the app, the draft and the outbox survive.
// Back online, the outbox sends itself: exactly one visit and its two photos reach the server.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shot } from './harness.mjs';
import {
  phone, fieldLogin, waitForServiceWorker, makeJpeg, fillHomeVisit, storedPhotos, apiToken, apiCall, jpegSize, north, choose,
} from './field.fixtures.mjs';

/** worker1's overdue home-visit task and its household's registered point. */
async function overdueVisit(world) {
  const token = await apiToken(world.server, 'worker1');
  const page = await apiCall(world.server, token, 'GET', '/sync');
  const task = page.tasks.find((x) => x.kind === 'visit' && x.overdue) ?? page.tasks[0];
  const household = page.households.find((h) => h.id === task.household_id);
  return { task, household, home: household.location };
}

async function openVisit(page, taskId) {
  await page.locator(`a[href="#/task/${taskId}"]`).first().click();
  await page.locator('[data-testid=start-visit]').click();
  await page.locator('[data-testid=visit]').waitFor();
}

async function visitsOf(world, householdId) {
  const token = await apiToken(world.server, 'coordinator');
  return (await apiCall(world.server, token, 'GET', `/visits?household_id=${householdId}&limit=50`)).items;
}

test('offline day: a visit with two photos survives reloads and is sent once when back online', async (t) => {
  const world = await phone(t);
  const { page, context } = world;
  const { task, household, home } = await overdueVisit(world);
  const before = (await visitsOf(world, household.id)).length;
  await context.setGeolocation({ latitude: home.lat, longitude: home.lon, accuracy: 12 });

  // Counts the app's requests for persistent storage (the browser decides; the app must ask).
  await context.addInitScript(() => {
    const ask = navigator.storage.persist.bind(navigator.storage);
    window.persistAsked = 0;
    navigator.storage.persist = () => { window.persistAsked++; return ask(); };
  });
  await fieldLogin(page, world.url);
  await waitForServiceWorker(page);
  // index.html preloads the whole module graph (a waterfall of imports on a 2 s round trip is what
  // the preload avoids): every module the app loaded is in that list.
  const loaded = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname).filter((p) => p.endsWith('.js') && p.startsWith('/v/')));
  const preloaded = await page.evaluate(() => [...document.querySelectorAll('link[rel=modulepreload]')].map((l) => new URL(l.href).pathname));
  assert.deepEqual(loaded.filter((p) => !preloaded.includes(p)), [], 'modules loaded but not preloaded');
  // The overdue visit comes first.
  assert.equal(await page.locator('[data-testid=task]').first().getAttribute('href'), `#/task/${task.id}`);
  await shot(page, 'field-tasks');
  // Installable: a manifest scoped to /field/ with 192 and 512 px icons that load.
  const manifest = await (await fetch(`${world.url}/field/manifest.webmanifest`)).json();
  assert.equal(manifest.scope, '/field/');
  assert.equal(manifest.display, 'standalone');
  for (const size of ['192x192', '512x512']) {
    const icon = manifest.icons.find((i) => i.sizes === size);
    const res = await fetch(`${world.url}${icon.src}`);
    assert.equal(res.headers.get('content-type'), 'image/png');
    const png = Buffer.from(await res.arrayBuffer());
    assert.equal(`${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`, size);
  }
  assert.ok(await page.evaluate(() => window.persistAsked) >= 1, 'the app asked for persistent storage');

  // No network from here: the browser is offline and the server is down.
  await context.setOffline(true);
  await world.stopServer({ kill: true }); // a graceful stop would wait for the browser's idle connections
  await page.reload();
  await page.locator('[data-testid=task-list]').waitFor();
  assert.match(await page.locator('[data-testid=status]').innerText(), /离线/);

  await openVisit(page, task.id);
  await page.locator('[data-testid=fix]', { hasText: '±12' }).waitFor();
  const house = await makeJpeg(page, { seed: 11, lat: home.lat, lon: home.lon, orientation: 6 });
  const sheet = await makeJpeg(page, { seed: 29, width: 900, height: 1200, lat: home.lat, lon: home.lon });
  await fillHomeVisit(page, { photos: { house, sheet } });
  // The calculations run live: one member, 36000 a year.
  assert.equal(await page.locator('[data-testid="calc-household_income"]').innerText(), '36000');

  // A reload in the middle: the draft (answers and photos) is still there.
  await page.reload();
  await page.locator('[data-testid=visit]').waitFor();
  assert.equal(await page.locator('[data-field="members[0].member_name"] input').inputValue(), '陈美琴');
  assert.equal(await page.locator('[data-testid=photo-thumb]').count(), 3, 'house photo and the signature sheet twice');
  const held = await storedPhotos(page);
  assert.equal(held.length, 2);
  for (const p of held) {
    assert.ok(Math.max(p.width, p.height) <= 1600);
    assert.ok(p.exif?.make, 'the EXIF block was carried into the shrunk photo');
    assert.equal(p.exif.orientation, 1, 'orientation reset: the canvas already turned the picture');
  }
  const turned = held.find((p) => p.width === 900 && p.height === 1200 && p.size < house.length + 100_000);
  assert.ok(turned, `the orientation-6 photo is upright: ${JSON.stringify(held)}`);

  await page.locator('[data-testid=finish]').click();
  await page.locator('[data-testid=outbox-item][data-state=queued]').waitFor();
  await shot(page, 'field-outbox-offline');

  // A reload with the visit in the outbox: it is still queued, and its task left the list.
  await page.reload();
  await page.locator('[data-testid=outbox-item][data-state=queued]').waitFor();
  await page.goto(`${world.url}/field/#/tasks`);
  await page.locator('[data-testid=task-list]').waitFor();
  assert.equal(await page.locator(`a[href="#/task/${task.id}"]`).count(), 0);

  // Back online: the app sends by itself.
  await world.startServer();
  await context.setOffline(false);
  await page.locator('[data-testid=tab-outbox]').click();
  await page.locator('[data-testid=outbox-item][data-state=sent]').waitFor({ timeout: 60_000 });
  await shot(page, 'field-outbox-sent');

  const after = await visitsOf(world, household.id);
  assert.equal(after.length, before + 1, 'exactly one new visit');
  const visit = after.find((v) => v.task_id === task.id && !v.review_state.startsWith('approved'));
  assert.ok(visit);
  assert.equal(visit.photo_ids.length, 2);
  assert.equal(visit.answers.staff_signature, visit.answers.family_signature);
  // A quick test visit is "too short" and nothing else: the fix, the grid and both photos' EXIF agree.
  assert.deepEqual(visit.flags.map((f) => f.code), ['too_short']);
  const token = await apiToken(world.server, 'coordinator');
  for (const id of visit.photo_ids) {
    const res = await fetch(`${world.url}/api/v1/photos/${id}`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    assert.ok(jpegSize(Buffer.from(await res.arrayBuffer())));
  }

  // Sending again (a lost answer, say) is a replay of the same UUID, not a second visit.
  const { push } = { push: () => page.evaluate(async () => {
    const base = document.querySelector('script[type=module]').src.replace(/app\.js$/, '');
    const store = await import(`${base}store.js`);
    const outbox = await import(`${base}outbox.js`);
    const [v] = await store.visits();
    await store.updateVisit(v.id, { state: 'queued', next_at: 0 });
    return outbox.push({ force: true });
  }) };
  const again = await push();
  assert.equal(again.replayed, 1);
  assert.equal((await visitsOf(world, household.id)).length, before + 1);
});
