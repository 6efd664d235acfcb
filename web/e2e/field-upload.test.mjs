// A photo upload cut by a server restart or an app reload resumes from the server's offset: after the cut the
// app asks HEAD /uploads/{id} where the server stands and sends only the rest, never the whole file again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { phone, fieldLogin, makeJpeg, fillHomeVisit, storedPhotos, apiToken, apiCall } from './field.fixtures.mjs';

/** Cuts a photo upload after its first chunk by `cut` ('restart' the server, or 'reload' the app), then checks the resumption. */
async function resumes(t, cut) {
  const world = await phone(t, {
    // The server is killed under a PATCH in flight, and the app may try again while it is down.
    tolerate: [
      /request (failed|aborted with no new page to explain it): (PATCH|HEAD|POST) http:\/\/127\.0\.0\.1:\d+\/api\/v1\/(uploads|visits)/,
      /console error: Failed to load resource: net::ERR_CONNECTION_(REFUSED|RESET) \(http:\/\/127\.0\.0\.1:\d+\/api\/v1\/(uploads|visits)/,
    ],
  });
  const { page, context } = world;
  const token = await apiToken(world.server, 'worker1');
  const synced = await apiCall(world.server, token, 'GET', '/sync');
  const task = synced.tasks.find((x) => x.kind === 'visit') ?? synced.tasks[0];
  const home = synced.households.find((h) => h.id === task.household_id).location;
  await context.setGeolocation({ latitude: home.lat, longitude: home.lon, accuracy: 8 });
  await fieldLogin(page, world.url);
  await page.locator(`a[href="#/task/${task.id}"]`).first().click();
  await page.locator('[data-testid=start-visit]').click();
  await page.locator('[data-testid=visit]').waitFor();
  // A grainy 1600 px photo stays large after shrinking: several chunks.
  const house = await makeJpeg(page, { seed: 71, width: 2400, height: 1800, noise: true, quality: 0.95, lat: home.lat, lon: home.lon });
  const sheet = await makeJpeg(page, { seed: 72, lat: home.lat, lon: home.lon });
  await fillHomeVisit(page, { photos: { house, sheet } });
  const big = (await storedPhotos(page)).sort((a, b) => b.size - a.size)[0];
  assert.ok(big.size > 600 * 1024, `the shrunk photo is big enough to take several chunks: ${big.size}`);

  // A slow uplink, so that the restart falls in the middle of the photo.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 50, downloadThroughput: 500 * 1024, uploadThroughput: 160 * 1024 });

  let phase = 'before';
  const patches = [];
  let heads = 0;
  const pending = [];
  page.on('request', (r) => {
    if (!r.url().includes('/api/v1/uploads/')) return;
    if (r.method() === 'HEAD' && phase === 'after') heads++;
    if (r.method() !== 'PATCH') return;
    // A Blob body is not handed to the test: its length is the request's Content-Length.
    const entry = { phase, url: r.url(), offset: Number(r.headers()['upload-offset']), bytes: null };
    patches.push(entry);
    pending.push(r.allHeaders().then((h) => { entry.bytes = Number(h['content-length']); }).catch(() => {}));
  });
  const firstChunk = page.waitForResponse((r) => r.request().method() === 'PATCH' && r.status() === 204, { timeout: 60_000 });
  await page.locator('[data-testid=finish]').click();
  await firstChunk;
  if (cut === 'restart') {
    await world.stopServer({ kill: true });
    phase = 'down'; // the app may try meanwhile: refused connections, no bytes go anywhere
    await world.startServer();
    phase = 'after';
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await page.locator('[data-testid=send-now]').click();
  } else {
    // The worker closes and reopens the app: it sends again on start.
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    // Requests of the old page (one may be cut in flight) count before; the new page's after.
    page.once('framenavigated', () => { phase = 'after'; });
    await page.reload();
    await page.locator('[data-testid=tab-outbox]').click();
  }
  await page.locator('[data-testid=outbox-item][data-state=sent]').waitFor({ timeout: 90_000 });

  await Promise.all(pending);
  // The big photo is the visit's first: its upload is the one the restart cut.
  const before = patches.filter((p) => p.phase === 'before');
  const after = patches.filter((p) => p.phase === 'after' && p.url === before[0]?.url);
  assert.ok(before.length >= 1 && after.length >= 1, JSON.stringify(patches));
  assert.ok(heads >= 1, 'the app asked the server where it stands');
  const resumedAt = after[0].offset;
  assert.ok(resumedAt > 0, `resumed at the server's offset, not 0: ${JSON.stringify(patches)}`);
  const sentAfter = after.reduce((n, p) => n + p.bytes, 0);
  assert.ok(after.every((p) => Number.isFinite(p.bytes)), JSON.stringify(after));
  assert.ok(sentAfter > 0 && sentAfter < big.size, `bytes sent after the cut (${sentAfter}) < the file (${big.size})`);
  t.diagnostic(`${cut}: photo ${big.size} B; resumed at ${resumedAt}; sent after the cut ${sentAfter} B in ${after.length} PATCHes`);

  const coordinator = await apiToken(world.server, 'coordinator');
  const visits = (await apiCall(world.server, coordinator, 'GET', `/visits?household_id=${task.household_id}&limit=50`)).items;
  const visit = visits.find((v) => v.task_id === task.id && v.review_state === 'pending');
  assert.equal(visit.photo_ids.length, 2);
}

test('the server restarts in the middle of a photo upload: the upload resumes at the server offset', (t) => resumes(t, 'restart'));

test('the app is reloaded in the middle of a photo upload: the upload resumes at the server offset', (t) => resumes(t, 'reload'));
