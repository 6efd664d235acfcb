// The field app's phone budget (issue 19), in headless Chromium with the CPU throttled 4× and
// DevTools' "Slow 3G" network (2 s round trip, 400 kbit/s each way), against `jiuzhu serve --demo`:
//   shell   the shell's size: every file /field/shell.json lists, gzipped as the server sends it;
//   open    time from opening the installed app to the task list with 30 tasks on screen (warm: the
//           service worker's cache), and to the log-in form on a first visit (cold: over Slow 3G);
//   shrink  shrinking a 12 MP camera JPEG to ≤ 1600 px with its EXIF carried over (photo.js);
//   outbox  sending a day's outbox of 30 visits with 60 photos (resumable uploads, then the visits);
//   sdk     the same day's outbox sent by the Rust SDK (`jiuzhu-field push`, photos PUT whole), with no
//           network limit: the peer for `--only outbox --network none`.
//
//   node bench/web/field_bench.mjs [--only shell,open,shrink,outbox,sdk] [--runs 5] [--network slow3g|none] [--cpu 4]
//
// Needs web/node_modules (cd web && npm ci) and a server binary (JIUZHU_BIN, else target/release/jiuzhu,
// else target/debug/jiuzhu; quote a release build: a debug build serves unversioned "dev" assets).

import { request as httpRequest } from 'node:http';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { phone, fieldLogin, waitForServiceWorker, makeJpeg, apiToken, apiCall } from '../../web/e2e/field.fixtures.mjs';
import { serverBinary } from '../../web/e2e/harness.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
const ONLY = new Set(opt('only', 'shell,open,shrink,outbox').split(','));
const RUNS = Number(opt('runs', 5));
const NETWORK = opt('network', 'slow3g');
const CPU = Number(opt('cpu', 4));

/** DevTools' Slow 3G preset. */
const SLOW_3G = { offline: false, latency: 2000, downloadThroughput: (500 * 1000) / 8 * 0.8, uploadThroughput: (500 * 1000) / 8 * 0.8 };
const NO_LIMIT = { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 };

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

// node:test's TestContext, as far as phone() needs it.
const cleanups = [];
const t = { after: (fn) => cleanups.push(fn) };

async function throttle(page, { cpu = CPU, network = NETWORK } = {}) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: cpu });
  await cdp.send('Network.emulateNetworkConditions', network === 'slow3g' ? SLOW_3G : NO_LIMIT);
  return cdp;
}

function rawGet(url) {
  return new Promise((resolve, reject) => {
    httpRequest(url, { headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
      let n = 0;
      res.on('data', (c) => { n += c.length; });
      res.on('end', () => resolve({ status: res.statusCode, bytes: n, encoding: res.headers['content-encoding'] ?? '' }));
    }).on('error', reject).end();
  });
}

async function shellSize(url) {
  const shell = await (await fetch(`${url}/field/shell.json`)).json();
  const files = [...shell.files, '/field/sw.js', '/field/manifest.webmanifest'];
  let gz = 0;
  let raw = 0;
  const rows = [];
  for (const f of files) {
    const got = await rawGet(`${url}${f}`);
    const plain = (await (await fetch(`${url}${f}`)).arrayBuffer()).byteLength;
    gz += got.bytes;
    raw += plain;
    rows.push([f, got.bytes, plain]);
  }
  rows.sort((a, b) => b[1] - a[1]);
  console.log(`shell: ${files.length} files, ${kb(gz)} as sent (gzip), ${kb(raw)} raw; largest: ${rows.slice(0, 5).map(([f, g]) => `${f.split('/').pop()} ${kb(g)}`).join(', ')}`);
  return { files: files.length, gz, raw };
}

/** A valid GB 11643 ID number (the check character computed). */
function idNumber(seq) {
  const body = `32040219700101${String(seq).padStart(3, '0')}`;
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((n, c, i) => n + Number(c) * w[i], 0);
  return body + '10X98765432'[sum % 11];
}

/**
 * 30 open tasks for worker1: the demo's, and home visits for households added to the grid (the
 * demo grid holds only eight), placed near the middle of the grid's boundary.
 */
async function thirtyTasks(world, username = 'worker1') {
  const worker = await apiToken(world.server, username);
  const me = await apiCall(world.server, worker, 'GET', '/me');
  const have = await apiCall(world.server, worker, 'GET', '/sync');
  const grid = await apiCall(world.server, worker, 'GET', `/org-units/${me.org_unit_id}`);
  const ring = (grid.boundary.type === 'MultiPolygon' ? grid.boundary.coordinates[0][0] : grid.boundary.coordinates[0]).slice(0, -1);
  const mid = { lon: ring.reduce((n, p) => n + p[0], 0) / ring.length, lat: ring.reduce((n, p) => n + p[1], 0) / ring.length };
  const coordinator = await apiToken(world.server, 'coordinator');
  const due = (d) => new Date(Date.now() + d * 86_400_000 + 8 * 3600_000).toISOString().slice(0, 10);
  let n = have.tasks.length;
  for (let i = 0; n < 30; i++) {
    const h = await apiCall(world.server, coordinator, 'POST', '/households', {
      address: `天宁区测试${username}-${i + 1}幢`, grid_id: me.org_unit_id,
      location: { lat: mid.lat + ((i % 5) - 2) * 0.00005, lon: mid.lon + (Math.floor(i / 5) - 3) * 0.00005, crs: 'wgs84' },
      members: [{ name: `测试户主${i + 1}`, relation: 'head', id_number: idNumber((username === 'worker1' ? 100 : 300) + i), health: 'healthy', work_status: 'employed' }],
    });
    await apiCall(world.server, coordinator, 'POST', '/tasks', {
      kind: 'visit', household_id: h.id, form_key: 'home_visit', due_date: due(n % 9), assignee_id: me.id, note: '入户走访 / home visit',
    });
    n++;
  }
  return { count: n };
}

async function openTimes(world) {
  const { page } = world;
  await waitForServiceWorker(page);
  const cdp = await throttle(page);
  const warm = [];
  for (let i = 0; i < RUNS; i++) {
    await page.goto(`${world.url}/field/`, { waitUntil: 'commit' });
    await page.waitForFunction(() => performance.getEntriesByName('field:tasks').length > 0, null, { timeout: 60_000 });
    const [mark, shown] = await page.evaluate(() => [performance.getEntriesByName('field:tasks')[0].startTime, document.querySelectorAll('[data-testid=task]').length]);
    if (shown < 30) throw new Error(`only ${shown} tasks on screen`);
    warm.push(mark);
    await page.waitForTimeout(1500); // let the background sync of this opening finish
  }
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
  console.log(`open (installed, CPU 4×, ${NETWORK}): 30 tasks on screen in median ${median(warm).toFixed(0)} ms (runs: ${warm.map((x) => x.toFixed(0)).join(', ')})`);
  return median(warm);
}

async function coldOpen(world) {
  // A first visit: a fresh browser profile, nothing cached, the shell over the throttled network.
  const fresh = await world.context.browser()?.newContext?.().catch(() => null);
  const page = fresh ? await fresh.newPage() : await world.context.newPage();
  if (!fresh) await page.context().clearCookies();
  await throttle(page);
  const t0 = Date.now();
  await page.goto(`${world.url}/field/?cold=${Date.now()}`, { waitUntil: 'commit' });
  await page.locator('form[data-testid=login]').waitFor({ timeout: 120_000 });
  const ms = await page.evaluate(() => performance.now());
  console.log(`open (first visit, no cache, CPU 4×, ${NETWORK}): log-in form after ${ms.toFixed(0)} ms (wall ${Date.now() - t0} ms)`);
  await page.close();
  return ms;
}

async function shrinkTime(world) {
  const { page } = world;
  const jpeg = await makeJpeg(page, { width: 4000, height: 3000, seed: 3, noise: true, quality: 0.92, lat: 31.81, lon: 119.94, orientation: 6 });
  const cdp = await throttle(page, { network: 'none' });
  const times = await page.evaluate(async ({ b64, runs }) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const file = new File([bytes], 'camera.jpg', { type: 'image/jpeg' });
    const base = document.querySelector('script[type=module]').src.replace(/app\.js$/, '');
    const { shrink } = await import(`${base}photo.js`);
    const out = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const r = await shrink(file);
      out.push({ ms: performance.now() - t0, size: r.blob.size, w: r.width, h: r.height, exif: r.exif });
    }
    return out;
  }, { b64: jpeg.toString('base64'), runs: RUNS });
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
  const r = times[0];
  console.log(`shrink 12 MP (4000×3000, ${kb(jpeg.length)}) → ${r.w}×${r.h} ${kb(r.size)}, EXIF ${r.exif ? 'kept' : 'LOST'}, CPU 4×: median ${median(times.map((x) => x.ms)).toFixed(0)} ms (runs: ${times.map((x) => x.ms.toFixed(0)).join(', ')})`);
  return median(times.map((x) => x.ms));
}

async function outboxTime(world) {
  const { page } = world;
  const worker = await apiToken(world.server, 'worker1');
  const synced = await apiCall(world.server, worker, 'GET', '/sync');
  const houses = new Map(synced.households.map((h) => [h.id, h]));
  const tasks = synced.tasks.filter((x) => x.form_version && houses.get(x.household_id)?.location).slice(0, 30);
  // Queue 30 finished visits with two 1600 px photos each, through the app's own store.
  const queued = await page.evaluate(async ({ tasks, houses }) => {
    const base = document.querySelector('script[type=module]').src.replace(/app\.js$/, '');
    const store = await import(`${base}store.js`);
    const photo = await import(`${base}photo.js`);
    const { uuidv7 } = await import(`${base}screens/visit.js`);
    let seed = 7;
    const rnd = () => { seed = (seed * 9301 + 49297) % 233280; return seed / 233280; };
    const picture = async () => {
      const c = new OffscreenCanvas(1600, 1200);
      const g = c.getContext('2d');
      for (let i = 0; i < 80; i++) {
        g.fillStyle = `hsl(${Math.floor(rnd() * 360)},55%,${25 + Math.floor(rnd() * 50)}%)`;
        g.fillRect(rnd() * 1600, rnd() * 1200, 40 + rnd() * 500, 40 + rnd() * 400);
      }
      const img = g.getImageData(0, 0, 1600, 1200);
      for (let i = 0; i < img.data.length; i += 4) { const n = (rnd() - 0.5) * 24; img.data[i] += n; img.data[i + 1] += n; img.data[i + 2] += n; }
      g.putImageData(img, 0, 0);
      return c.convertToBlob({ type: 'image/jpeg', quality: 0.85 });
    };
    const now = Date.now();
    const today = new Date(now + 8 * 3600_000).toISOString().slice(0, 10);
    let bytes = 0;
    for (const task of tasks) {
      const h = houses[task.household_id];
      const ids = [];
      for (let k = 0; k < 2; k++) {
        const blob = await picture();
        const id = crypto.randomUUID();
        bytes += blob.size;
        await store.putPhoto({ id, owner: `draft:${task.id}`, blob, size: blob.size, sha256: await photo.sha256Hex(blob), width: 1600, height: 1200, state: 'queued', upload_id: null, offset: 0, created_at: new Date().toISOString() });
        ids.push(id);
      }
      const answers = {
        visit_date: today, dibao_investigation: 'no', staff_present: ['staff_01'], location: { lat: h.location.lat, lon: h.location.lon },
        members: [{ member_name: '户主', relation: 'head', id_number: '430524197211171708', birth_date: '1972-11-17', health: 'healthy', disability_level: 'none', work_status: 'employed', income_wages: 36000 }],
        housing_type: 'owned', housing_area: 56.5, safety_grade: 'a', vehicles: 0, savings: 0, medical_oop_12m: 0, school_oop_12m: 0,
        hardship_causes: ['schooling'], house_photo: ids[0], staff_signature: ids[1], family_signature: ids[1],
      };
      await store.queueVisit({
        id: uuidv7(), task_id: task.id, form_key: task.form_key, form_version: task.form_version, answers,
        location: { lat: h.location.lat, lon: h.location.lon, accuracy_m: 10, fix_time: new Date(now - 600_000).toISOString(), mock: false },
        started_at: new Date(now - 1200_000).toISOString(), finished_at: new Date(now - 60_000).toISOString(), photo_ids: ids, staff: [],
      }, { task_id: task.id, address: h.address });
    }
    return { visits: tasks.length, bytes };
  }, { tasks, houses: Object.fromEntries(houses) });
  const cdp = await throttle(page);
  const t0 = Date.now();
  const report = await page.evaluate(async () => {
    const base = document.querySelector('script[type=module]').src.replace(/app\.js$/, '');
    const outbox = await import(`${base}outbox.js`);
    const total = { sent: 0, replayed: 0, retry_later: 0, needs_attention: 0 };
    for (let pass = 0; pass < 20; pass++) {
      const r = await outbox.push({ force: true });
      for (const k of Object.keys(total)) total[k] += r[k];
      if (r.retry_later === 0) break;
    }
    return total;
  });
  const ms = Date.now() - t0;
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
  const floor = NETWORK === 'slow3g' ? (queued.bytes / SLOW_3G.uploadThroughput) * 1000 : 0;
  console.log(`outbox: ${queued.visits} visits, ${queued.visits * 2} photos (${kb(queued.bytes)}), CPU ${CPU}×, ${NETWORK}: sent in ${(ms / 1000).toFixed(1)} s`
    + `${floor ? ` (the uplink alone needs ${(floor / 1000).toFixed(1)} s)` : ''}; ${JSON.stringify(report)}`);
  return { ms, ...queued, report };
}

/** The same day through the Rust SDK: worker2's 30 tasks, 60 photos like the app's, `jiuzhu-field push` timed. */
async function sdkOutbox(world) {
  await thirtyTasks(world, 'worker2');
  const repo = join(dirname(new URL(import.meta.url).pathname), '..', '..');
  const bin = process.env.JIUZHU_FIELD_BIN || ['target/release/jiuzhu-field', 'target/debug/jiuzhu-field'].map((p) => join(repo, p)).find(existsSync);
  const dir = mkdtempSync(join(tmpdir(), 'jiuzhu-sdk-bench-'));
  const env = { ...process.env, JIUZHU_SERVER: world.url, JIUZHU_FIELD_HOME: join(dir, 'home'), JIUZHU_PASSWORD: 'jiuzhu-demo-2026' };
  const run = (...a) => execFileSync(bin, a, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    run('login', 'worker2');
    run('sync');
    const token = await apiToken(world.server, 'worker2');
    const synced = await apiCall(world.server, token, 'GET', '/sync');
    const houses = new Map(synced.households.map((h) => [h.id, h]));
    const tasks = synced.tasks.filter((x) => x.form_version && houses.get(x.household_id)?.location).slice(0, 30);
    const pictures = await world.page.evaluate(async (n) => {
      let seed = 7;
      const rnd = () => { seed = (seed * 9301 + 49297) % 233280; return seed / 233280; };
      const out = [];
      for (let k = 0; k < n; k++) {
        const c = new OffscreenCanvas(1600, 1200);
        const g = c.getContext('2d');
        for (let i = 0; i < 80; i++) {
          g.fillStyle = `hsl(${Math.floor(rnd() * 360)},55%,${25 + Math.floor(rnd() * 50)}%)`;
          g.fillRect(rnd() * 1600, rnd() * 1200, 40 + rnd() * 500, 40 + rnd() * 400);
        }
        const img = g.getImageData(0, 0, 1600, 1200);
        for (let i = 0; i < img.data.length; i += 4) { const v = (rnd() - 0.5) * 24; img.data[i] += v; img.data[i + 1] += v; img.data[i + 2] += v; }
        g.putImageData(img, 0, 0);
        const bytes = new Uint8Array(await (await c.convertToBlob({ type: 'image/jpeg', quality: 0.85 })).arrayBuffer());
        let bin = '';
        for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        out.push(btoa(bin));
      }
      return out;
    }, tasks.length * 2);
    let bytes = 0;
    const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    tasks.forEach((task, i) => {
      const h = houses.get(task.household_id);
      const files = [0, 1].map((k) => {
        const f = join(dir, `p${i}-${k}.jpg`);
        const buf = Buffer.from(pictures[i * 2 + k], 'base64');
        bytes += buf.length;
        writeFileSync(f, buf);
        return f;
      });
      const answers = join(dir, `a${i}.json`);
      writeFileSync(answers, JSON.stringify({
        visit_date: today, dibao_investigation: 'no', staff_present: ['staff_01'], location: { lat: h.location.lat, lon: h.location.lon },
        members: [{ member_name: '户主', relation: 'head', id_number: '430524197211171708', birth_date: '1972-11-17', health: 'healthy', disability_level: 'none', work_status: 'employed', income_wages: 36000 }],
        housing_type: 'owned', housing_area: 56.5, safety_grade: 'a', vehicles: 0, savings: 0, medical_oop_12m: 0, school_oop_12m: 0,
        hardship_causes: ['schooling'], family_signature: crypto.randomUUID(),
      }));
      run('visit', '--task', task.id, '--answers', answers, '--photo', `house_photo=${files[0]}`, '--photo', `staff_signature=${files[1]}`);
    });
    const t0 = Date.now();
    const out = run('push');
    const ms = Date.now() - t0;
    console.log(`sdk outbox (jiuzhu-field push, photos PUT whole, no network limit): ${tasks.length} visits, ${tasks.length * 2} photos (${kb(bytes)}) in ${(ms / 1000).toFixed(1)} s; ${out.trim().split('\n').pop()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  console.log(`server: ${serverBinary()}; runs: ${RUNS}; network: ${NETWORK}`);
  const world = await phone(t, { geolocation: { latitude: 31.8111, longitude: 119.9475, accuracy: 10 } });
  try {
    if (ONLY.has('shell')) await shellSize(world.url);
    if (ONLY.has('open') || ONLY.has('outbox')) {
      const { count } = await thirtyTasks(world);
      console.log(`worker1 has ${count} open tasks`);
    }
    await fieldLogin(world.page, world.url);
    if (ONLY.has('open')) {
      await openTimes(world);
      await coldOpen(world);
    }
    if (ONLY.has('shrink')) await shrinkTime(world);
    if (ONLY.has('outbox')) await outboxTime(world);
    if (ONLY.has('sdk')) await sdkOutbox(world);
  } finally {
    for (const fn of cleanups.reverse()) {
      try { await fn(); } catch (e) { console.error(`cleanup: ${e.message.split('\n').slice(0, 4).join(' | ')}`); }
    }
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
