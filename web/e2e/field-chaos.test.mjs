// Network chaos for the phone app (issue 21 §5, its browser half; the Rust SDK's half is
// tests/tests/chaos/network.rs). The grid worker's app is loaded THROUGH a chaos TCP proxy
// (chaos-proxy.mjs), so every request of the page and of its outbox crosses it. The worker records
// visits with real photos (../shared/data/photos): the first while the phone is offline, the rest
// while the proxy drops, delays, truncates and resets connections and the server is killed and
// started again on the same data and port; the app is reloaded once in the middle. Then the network
// calms down and the worker presses "send" until the outbox is quiet. In the end:
//
//   - each visit is on the server exactly once, under the phone's own id and on its own task;
//   - each photo is there exactly once, on its own visit, with the picture the phone held (the
//     SHA-256 of its coded image: the server keeps the original with its metadata stripped);
//   - the app shows nothing as needing attention (no refused visit, no expired session, no badge,
//     a sync that finished), since nothing in this run needs a person.
//
// The page's guard excuses only what the chaos causes: failed requests of the API through the
// proxy while it is chaotic (or the server is down), their console lines, and the 409 or 404 an
// upload request gets when the answer to the PATCH before it was lost (the upload then resumes at
// the server's offset, or begins again when that PATCH completed it).
//
// Environment: CHAOS_SEED replays a run (the seed is printed); CHAOS_VISITS (default 3) visits,
// CHAOS_ROUNDS (default 2) rounds of chaos, each ending in a server restart. The defaults keep the
// test near a minute for CI; a longer run: CHAOS_VISITS=12 CHAOS_ROUNDS=6 node --test e2e/field-chaos.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, shot } from './harness.mjs';
import { startProxy, chaosSeed, rng } from './chaos-proxy.mjs';
import { phone, fieldLogin, waitForServiceWorker, fillHomeVisit, apiToken, apiCall } from './field.fixtures.mjs';

const env = (name, fallback) => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, not ${JSON.stringify(v)}`);
  return n;
};
const VISITS = env('CHAOS_VISITS', 3);
const ROUNDS = env('CHAOS_ROUNDS', 2);
/** Bytes per PATCH in this test: smaller than the app's own, so that a photo takes several requests to cut. */
const CHUNK = 48 * 1024;

/** The readable camera and phone JPEGs of the shared data, by name. */
function realJpegs() {
  const root = join(process.env.JIUZHU_SHARED_DATA ?? join(REPO, '..', 'shared', 'data'), 'photos');
  const out = [];
  for (const sub of ['mobile', 'gps', 'orientation']) {
    for (const name of readdirSync(join(root, sub)).filter((n) => n.endsWith('.jpg')).sort()) {
      out.push({ name: `${sub}/${name}`, bytes: readFileSync(join(root, sub, name)) });
    }
  }
  assert.ok(out.length >= 2, `real JPEGs under ${root}`);
  return out;
}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

/**
 * A JPEG's picture: its bytes from the start-of-scan marker on. The server keeps an original with
 * its metadata stripped (EXIF, GPS), so the whole file differs from the phone's, but the coded
 * picture must be the phone's byte for byte.
 */
function picture(buf) {
  let i = 2;
  while (i + 4 <= buf.length && buf[i] === 0xff) {
    if (buf[i + 1] === 0xda) return buf.subarray(i);
    i += 2 + buf.readUInt16BE(i + 2);
  }
  throw new Error(`no start of scan in a ${buf.length}-byte file`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The app's upload module told to use CHUNK (after each load of the app). */
const smallChunks = (page) => page.evaluate(async (n) => {
  const base = document.querySelector('script[type=module]').src.replace(/app\.js$/, '');
  (await import(`${base}upload.js`)).setChunk(n);
}, CHUNK);

/** The outbox as the phone holds it (read through the app's own store): each visit's state, task, error and photo ids. */
const outbox = (page) => page.evaluate(async () => {
  const base = document.querySelector('script[type=module]').src.replace(/app\.js$/, '');
  const store = await import(`${base}store.js`);
  return (await store.visits()).map((v) => ({ id: v.id, state: v.state, task_id: v.body.task_id, error: v.error, attempts: v.attempts, photo_ids: v.body.photo_ids }));
});

/** The photos of a draft on the phone: id → the SHA-256 of its picture (see picture()). */
async function draftPhotos(page, taskId) {
  const held = await page.evaluate(async (owner) => {
    const base = document.querySelector('script[type=module]').src.replace(/app\.js$/, '');
    const store = await import(`${base}store.js`);
    const out = [];
    for (const p of (await store.photos()).filter((x) => x.owner === owner)) {
      const u8 = new Uint8Array(await p.blob.arrayBuffer());
      let bin = '';
      for (let i = 0; i < u8.length; i += 0x8000) bin += String.fromCharCode(...u8.subarray(i, i + 0x8000));
      out.push({ id: p.id, sha256: p.sha256, b64: btoa(bin) });
    }
    return out;
  }, `draft:${taskId}`);
  const pictures = new Map();
  for (const p of held) {
    const buf = Buffer.from(p.b64, 'base64');
    assert.equal(sha256(buf), p.sha256, `photo ${p.id}: the phone's SHA-256 is its blob's`);
    pictures.set(p.id, sha256(picture(buf)));
  }
  return pictures;
}

/**
 * The tasks the worker will visit: worker1's open home-visit tasks, and new ones from the
 * coordinator for other households of the grid when there are too few.
 */
async function visitTasks(server, count) {
  const worker = await apiToken(server, 'worker1');
  const coordinator = await apiToken(server, 'coordinator');
  const me = await apiCall(server, worker, 'GET', '/me');
  let synced = await apiCall(server, worker, 'GET', '/sync');
  const busy = new Set(synced.tasks.map((t) => t.household_id));
  let missing = count - synced.tasks.filter((t) => t.form_key === 'home_visit' && synced.households.some((h) => h.id === t.household_id && h.location)).length;
  const due = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
  const grid = missing > 0 ? (await apiCall(server, coordinator, 'GET', `/households?grid_id=${me.org_unit_id}&limit=500`)).items : [];
  const placed = [];
  for (const h of grid) if ((await apiCall(server, coordinator, 'GET', `/households/${h.id}`)).location) placed.push(h.id);
  // Households with no task first; a long run then gives some households a second task.
  const order = [...placed.filter((id) => !busy.has(id)), ...placed];
  for (let i = 0; missing > 0 && order.length; i++, missing--) {
    await apiCall(server, coordinator, 'POST', '/tasks', {
      kind: 'visit', household_id: order[i % order.length], form_key: 'home_visit', due_date: due, assignee_id: me.id, note: '网络测试走访',
    });
  }
  synced = await apiCall(server, worker, 'GET', '/sync');
  const tasks = synced.tasks.filter((t) => t.form_key === 'home_visit')
    .map((t) => ({ ...t, home: synced.households.find((h) => h.id === t.household_id)?.location }))
    .filter((t) => t.home);
  assert.ok(tasks.length >= count, `${count} home-visit tasks for worker1 (found ${tasks.length})`);
  return tasks.slice(0, count);
}

async function visitsOf(server, token, householdId) {
  return (await apiCall(server, token, 'GET', `/visits?household_id=${householdId}&limit=100`)).items;
}

test('the phone app through a chaos proxy and server restarts: every visit and photo arrives once, nothing needs attention', { timeout: 30 * 60_000 }, async (t) => {
  const began = Date.now();
  const seed = chaosSeed();
  t.diagnostic(`seed ${seed} (replay with CHAOS_SEED=${seed}); ${VISITS} visits, ${ROUNDS} rounds`);
  const r = rng(seed, 0xfeed);
  let proxy = null;
  let serverDown = false;
  let chaosSince = null; // when the chaos first started: the 409s it leaves behind may come later
  let calmedAt = 0;
  const API = /^\/api\/v1\//;
  // ERR_ABORTED too: Chromium reports a HEAD whose connection is cut as aborted, though the app aborts nothing.
  const NET = /net::ERR_(CONNECTION_(RESET|CLOSED|REFUSED|ABORTED)|EMPTY_RESPONSE|INCOMPLETE_CHUNKED_ENCODING|CONTENT_LENGTH_MISMATCH|INVALID_HTTP_RESPONSE|SOCKET_NOT_CONNECTED|ABORTED)\b/;
  /** What the chaos causes, and only that: through the proxy, to the API, while chaotic. */
  const excuse = (e) => {
    if (!proxy || !e.url.startsWith(`${proxy.url}/`)) return false;
    const path = new URL(e.url).pathname;
    if (!API.test(path)) return false;
    // Chromium may report a cut a moment after the proxy calmed down.
    const wild = proxy.chaotic || serverDown || Date.now() - calmedAt < 2000;
    if (e.kind === 'failed' || e.kind === 'console') return wild && NET.test(e.text);
    // A PATCH whose answer was lost moved the server's offset: the next one is told where to go on
    // (409); or it completed the upload, which is then gone (404 to HEAD or to a PATCH sent again).
    if (e.kind !== 'status' || chaosSince === null || !/^\/api\/v1\/uploads\/[0-9a-f-]{36}$/.test(path)) return false;
    return (e.status === 409 && e.method === 'PATCH') || (e.status === 404 && (e.method === 'PATCH' || e.method === 'HEAD'));
  };
  const world = await phone(t, { front: async (port) => (proxy = await startProxy({ upstream: port, seed })), excuse });
  const { page, context } = world;
  const jpegs = realJpegs();
  const tasks = await visitTasks(world.server, VISITS);
  const coordinator = await apiToken(world.server, 'coordinator');
  const before = new Map();
  for (const task of tasks) before.set(task.household_id, (await visitsOf(world.server, coordinator, task.household_id)).length);

  // Calm: the app loads and logs in through the proxy; the service worker holds the shell.
  await fieldLogin(page, world.url);
  await waitForServiceWorker(page);
  await smallChunks(page);

  const recorded = [];
  let next = 0;
  /** One visit: to the household, the form with two real photos, finish. */
  const record = async () => {
    const task = tasks[next++];
    await context.setGeolocation({ latitude: task.home.lat, longitude: task.home.lon, accuracy: 10 });
    await page.evaluate((h) => { location.hash = h; }, `#/task/${task.id}`);
    await page.locator('[data-testid=start-visit]').click();
    await page.locator('[data-testid=visit]').waitFor();
    const a = jpegs[r.int(0, jpegs.length)];
    let b = jpegs[r.int(0, jpegs.length)];
    if (b === a) b = jpegs[(jpegs.indexOf(a) + 1) % jpegs.length];
    await fillHomeVisit(page, { photos: { house: a.bytes, sheet: b.bytes } });
    await page.locator('[data-testid=fix]', { hasText: '±' }).waitFor();
    const pictures = await draftPhotos(page, task.id);
    await page.locator('[data-testid=finish]').click();
    await page.locator('[data-testid=outbox]').waitFor();
    const held = (await outbox(page)).find((v) => v.task_id === task.id);
    assert.ok(held, `visit of task ${task.id} is in the outbox`);
    assert.equal(held.photo_ids.length, 2);
    const photos = held.photo_ids.map((id) => ({ id, picture: pictures.get(id) }));
    assert.ok(photos.every((p) => p.picture), 'the photos were on the phone when queued');
    recorded.push({ ...held, photos, household_id: task.household_id, files: [a.name, b.name] });
  };
  const sendNow = async () => {
    await page.locator('[data-testid=tab-outbox]').click();
    const button = page.locator('[data-testid=send-now]');
    if (await button.isEnabled()) await button.click();
  };

  // Offline: the first visit (a third of them) with no network at all.
  await context.setOffline(true);
  const offline = Math.max(1, Math.floor(VISITS / 3));
  while (next < offline) await record();
  await page.locator('[data-testid=outbox-item][data-state=queued]').first().waitFor();

  // Back online into the chaos: the app sends by itself; the worker goes on visiting and pressing send.
  proxy.chaos();
  chaosSince = Date.now();
  await context.setOffline(false);
  const restarts = [];
  for (let round = 0; round < ROUNDS; round++) {
    const share = Math.ceil((VISITS - next) / (ROUNDS - round));
    for (let k = 0; k < share && next < VISITS; k++) {
      await record();
      await sendNow();
    }
    await sleep(r.int(500, 2500));
    if (round === 0) {
      // The worker closes and opens the app in the middle of it: the service worker serves the
      // shell, the outbox goes on from IndexedDB.
      await page.reload();
      await page.locator('[data-testid=outbox]').waitFor();
      await smallChunks(page);
    }
    await sendNow();
    await sleep(r.int(300, 2000));
    // The server dies under whatever is in flight and comes back on the same data and port.
    serverDown = true;
    const t0 = Date.now();
    await world.stopServer({ kill: true });
    await sleep(r.int(100, 1500));
    await world.startServer();
    serverDown = false;
    restarts.push(Date.now() - t0);
    await sendNow();
  }
  const chaosTook = Date.now() - chaosSince;

  // Calm: the worker presses "send" until nothing is waiting.
  proxy.calm();
  calmedAt = Date.now();
  const settleBy = Date.now() + 120_000;
  let presses = 0;
  for (;;) {
    const held = await outbox(page);
    if (held.every((v) => v.state === 'sent' || v.state === 'needs_attention')) break;
    if (Date.now() > settleBy) assert.fail(`the outbox was not quiet 120 s after the network calmed down: ${JSON.stringify(held, null, 1)}`);
    await sendNow();
    presses++;
    await sleep(1500);
  }
  const drained = Date.now() - calmedAt;
  // A last refresh with nothing to send: the sync finishes and the status line says so.
  await page.locator('[data-testid=tab-tasks]').click();
  await sendNow();
  await page.locator('[data-testid=status]', { hasText: '已同步' }).waitFor({ timeout: 30_000 });
  await shot(page, 'field-chaos-outbox');

  // Nothing needs a person: every visit sent, no refusal shown, no badge, no expired session.
  const held = await outbox(page);
  assert.deepEqual(held.filter((v) => v.state !== 'sent').map((v) => `${v.id}: ${v.state} ${JSON.stringify(v.error)}`), [], 'visits not sent');
  assert.equal(held.length, VISITS);
  assert.equal(await page.locator('[data-testid=outbox-item][data-state=sent]').count(), VISITS);
  assert.equal(await page.locator('[data-testid=attention]').count(), 0, 'a visit shown as needing attention');
  assert.equal(await page.locator('[data-testid=expired]').count(), 0, 'the session shown as expired');
  assert.equal(await page.locator('[data-testid=tab-outbox] .badge').count(), 0, 'the outbox tab still shows a badge');

  // On the server: each visit once, under its own id, on its own task, with its own photos.
  const problems = [];
  const photoOwners = new Map();
  const counted = new Set();
  for (const v of recorded) {
    const all = await visitsOf(world.server, coordinator, v.household_id);
    const onTask = all.filter((x) => x.task_id === v.task_id && x.id === v.id);
    if (onTask.length !== 1) problems.push(`visit ${v.id} of task ${v.task_id} is on the server ${onTask.length} times`);
    const ours = recorded.filter((x) => x.household_id === v.household_id).length;
    if (all.length !== before.get(v.household_id) + ours) problems.push(`household ${v.household_id}: ${all.length} visits, ${before.get(v.household_id)} before + ${ours} expected`);
    if (!counted.has(v.household_id)) for (const x of all) for (const p of x.photo_ids) photoOwners.set(p, [...(photoOwners.get(p) ?? []), x.id]);
    counted.add(v.household_id);
    const server = onTask[0];
    if (server) assert.deepEqual(server.photo_ids, v.photos.map((p) => p.id), `visit ${v.id}'s photos`);
  }
  let bytes = 0;
  for (const v of recorded) {
    for (const p of v.photos) {
      const owners = photoOwners.get(p.id) ?? [];
      if (owners.length !== 1 || owners[0] !== v.id) problems.push(`photo ${p.id} is on visits ${JSON.stringify(owners)}, not once on ${v.id}`);
      const res = await fetch(`${world.server.url}/api/v1/photos/${p.id}`, { headers: { Authorization: `Bearer ${coordinator}` } });
      if (res.status !== 200) { problems.push(`photo ${p.id}: HTTP ${res.status}`); continue; }
      const body = Buffer.from(await res.arrayBuffer());
      bytes += body.length;
      if (sha256(picture(body)) !== p.picture) problems.push(`photo ${p.id} of visit ${v.id}: the server's picture differs from the phone's`);
    }
  }

  const counts = proxy.counts();
  const cuts = ['dropped', 'truncated', 'reset_in_request', 'reset_answer_lost'].reduce((n, k) => n + (counts[k] ?? 0), 0);
  t.diagnostic(`seed ${seed}: ${VISITS} visits, ${VISITS * 2} photos (${bytes} B) in ${((Date.now() - began) / 1000).toFixed(0)} s; `
    + `${(chaosTook / 1000).toFixed(0)} s of chaos, ${ROUNDS} restarts (${restarts.join(', ')} ms), drained ${(drained / 1000).toFixed(1)} s `
    + `after the calm with ${presses} presses; proxy: ${proxy.connections} connections ${JSON.stringify(counts)}; `
    + `${world.excused.length} failures excused`);
  assert.deepEqual(problems, []);
  // The chaos happened: the proxy cut connections the app was using. (Not every cut reaches the
  // app as a failure: Chromium sends a request again by itself when a reused connection dies before
  // any answer, which the server then sees twice.)
  assert.ok(cuts > 0, `the proxy cut no connection: ${JSON.stringify(counts)}`);
});
