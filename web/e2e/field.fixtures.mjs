// What the field app's browser tests share: a phone (Pixel-class viewport, touch, mobile, zh-CN,
// Asia/Shanghai, a faked GPS) against a real demo server on a fixed port, so that the server can be
// stopped and started again on the same data and address (offline, a restart in mid-upload); photos
// made in the test as real JPEGs with an EXIF block (position, time, orientation).

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { freshDataDir, serverBinary, guard, CHROMIUM_ARGS, REPO, DEMO_PASSWORD, apiToken, apiCall } from './harness.mjs';

export { apiToken, apiCall, DEMO_PASSWORD };

/** Pixel 7: 412 × 915 CSS pixels at 2.625. */
export const PHONE = { viewport: { width: 412, height: 915 }, deviceScaleFactor: 2.625, isMobile: true, hasTouch: true };

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** `jiuzhu serve --demo` on a given port; resolves when it listens. Returns { url, port, stop() }. */
export function serveOn(dataDir, port, { timeoutMs = 120_000 } = {}) {
  const child = spawn(serverBinary(), ['serve', '--demo', '--bind', `127.0.0.1:${port}`, '--data-dir', dataDir], {
    cwd: REPO, env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exited = new Promise((res) => child.once('exit', (code, sig) => res({ code, sig })));
  const stop = async ({ kill = false } = {}) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(kill ? 'SIGKILL' : 'SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { stop(); reject(new Error(`no "listening on" in ${timeoutMs} ms:\n${err.slice(-3000)}`)); }, timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c) => { err += c; if (err.length > 100_000) err = err.slice(-50_000); });
    child.stdout.on('data', (c) => {
      out += c;
      if (/listening on http:\/\//.test(out)) {
        clearTimeout(timer);
        resolve({ url: `http://127.0.0.1:${port}`, port, stop, child });
      }
    });
    exited.then(({ code, sig }) => { clearTimeout(timer); reject(new Error(`server exited (${code ?? sig}):\n${err.slice(-3000)}`)); });
  });
}

/**
 * One phone test's world: a demo server on a fixed port over a fresh copy of the seeded data, a
 * phone browser, a guarded page. `restart()` stops the server (optionally with SIGKILL) and starts
 * it again on the same data and port. Cleanup and the page checks run in t.after.
 *
 * `front(port)`, if given, starts something the phone reaches the server through (a proxy) and
 * resolves to { url, close() }: the page's origin is then `url` (world.url), while world.server.url
 * stays the server's own address for the test's calls. `excuse` goes to the page's guard().
 */
export async function phone(t, { geolocation = null, tolerate = [], front = null, excuse = null } = {}) {
  const dataDir = await freshDataDir();
  const port = await freePort();
  let server = await serveOn(dataDir, port);
  const proxy = front ? await front(port) : null;
  const origin = proxy?.url ?? server.url;
  const userDataDir = mkdtempSync(join(tmpdir(), 'jiuzhu-phone-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: !process.env.E2E_HEADFUL,
    args: CHROMIUM_ARGS,
    ...PHONE,
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    permissions: ['geolocation'],
    geolocation: geolocation ?? undefined,
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(20_000);
  const g = guard(page, origin, { excuse });
  const world = {
    url: origin, context, page, allow: g.allow, excused: g.excused, dataDir,
    get server() { return server; },
    async stopServer(options) { await server.stop(options); },
    async startServer() { server = await serveOn(dataDir, port); return server; },
    async restart(options) { await server.stop(options); server = await serveOn(dataDir, port); return server; },
  };
  t.after(async () => {
    try { await context.close(); } finally {
      await proxy?.close();
      await server.stop();
      rmSync(userDataDir, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
    // `tolerate`: failures the test causes on purpose (a server killed under a request in flight).
    const problems = g.final().filter((p) => !tolerate.some((re) => re.test(p)));
    if (problems.length) throw new Error(`the page had ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  });
  return world;
}

/** Opens /field/ and logs in; waits for the task list after the first sync. */
export async function fieldLogin(page, url, username = 'worker1') {
  await page.goto(`${url}/field/`);
  await page.locator('input[name=username]').fill(username);
  await page.locator('input[name=password]').fill(DEMO_PASSWORD);
  await page.locator('form[data-testid=login] button[type=submit]').click();
  await page.locator('[data-testid=task-list]').waitFor();
  await page.locator('[data-testid=status]', { hasText: '已同步' }).waitFor();
}

/** Resolves once the page's service worker controls it (the shell is precached by then). */
export async function waitForServiceWorker(page) {
  await page.waitForFunction(async () => {
    const reg = await navigator.serviceWorker.getRegistration('/field/');
    return Boolean(reg?.active && navigator.serviceWorker.controller);
  }, null, { timeout: 30_000 });
}

// ---- JPEGs with EXIF --------------------------------------------------------------------------

const TYPES = { BYTE: 1, ASCII: 2, SHORT: 3, LONG: 4, RATIONAL: 5 };

/** A little-endian TIFF directory writer: enough for the EXIF and GPS tags a camera writes. */
function tiff(ifd0, exif, gps) {
  const blocks = [];
  const layout = (entries) => 2 + entries.length * 12 + 4;
  const valueBytes = (e) => {
    if (e.type === TYPES.ASCII) return Buffer.from(`${e.value}\0`, 'latin1');
    if (e.type === TYPES.SHORT) { const b = Buffer.alloc(2 * e.value.length); e.value.forEach((v, i) => b.writeUInt16LE(v, i * 2)); return b; }
    if (e.type === TYPES.LONG) { const b = Buffer.alloc(4 * e.value.length); e.value.forEach((v, i) => b.writeUInt32LE(v, i * 4)); return b; }
    if (e.type === TYPES.BYTE) return Buffer.from(e.value);
    const b = Buffer.alloc(8 * e.value.length);
    e.value.forEach(([n, d], i) => { b.writeUInt32LE(n, i * 8); b.writeUInt32LE(d, i * 8 + 4); });
    return b;
  };
  const count = (e) => (e.type === TYPES.ASCII ? e.value.length + 1 : e.value.length);
  // Offsets: header 8, IFD0, Exif IFD, GPS IFD, then the out-of-line values.
  const exifPointer = { tag: 0x8769, type: TYPES.LONG, value: [0] };
  const gpsPointer = { tag: 0x8825, type: TYPES.LONG, value: [0] };
  ifd0.push(exifPointer, gpsPointer);
  const o0 = 8;
  const oExif = o0 + layout(ifd0);
  const oGps = oExif + layout(exif);
  exifPointer.pointer = oExif;
  gpsPointer.pointer = oGps;
  let data = oGps + layout(gps);
  const write = (entries) => {
    const b = Buffer.alloc(layout(entries));
    b.writeUInt16LE(entries.length, 0);
    entries.sort((a, c) => a.tag - c.tag).forEach((e, i) => {
      const at = 2 + i * 12;
      b.writeUInt16LE(e.tag, at);
      b.writeUInt16LE(e.type, at + 2);
      b.writeUInt32LE(count(e), at + 4);
      const v = e.pointer !== undefined ? (() => { const x = Buffer.alloc(4); x.writeUInt32LE(e.pointer); return x; })() : valueBytes(e);
      if (v.length <= 4) v.copy(b, at + 8);
      else { b.writeUInt32LE(data, at + 8); blocks.push(v); data += v.length + (v.length % 2); if (v.length % 2) blocks.push(Buffer.alloc(1)); }
    });
    return b;
  };
  const head = Buffer.from([0x49, 0x49, 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00]);
  const parts = [head, write(ifd0), write(exif), write(gps)];
  return Buffer.concat([...parts, ...blocks]);
}

const dms = (deg) => {
  const a = Math.abs(deg);
  const d = Math.floor(a);
  const m = Math.floor((a - d) * 60);
  const s = Math.round(((a - d) * 60 - m) * 60 * 10000);
  return [[d, 1], [m, 1], [s, 10000]];
};

/** An APP1 "Exif" segment: camera make and model, orientation, capture time (Shanghai clock) and GPS. */
export function exifSegment({ lat, lon, time = new Date(), orientation = 1, make = 'Jiuzhu', model = 'TestPhone' }) {
  const sh = new Date(time.getTime() + 8 * 3600_000).toISOString();
  const local = `${sh.slice(0, 4)}:${sh.slice(5, 7)}:${sh.slice(8, 10)} ${sh.slice(11, 19)}`;
  const utc = time.toISOString();
  const ifd0 = [
    { tag: 0x010f, type: TYPES.ASCII, value: make },
    { tag: 0x0110, type: TYPES.ASCII, value: model },
    { tag: 0x0112, type: TYPES.SHORT, value: [orientation] },
    { tag: 0x0132, type: TYPES.ASCII, value: local },
  ];
  const exif = [
    { tag: 0x9003, type: TYPES.ASCII, value: local },
    { tag: 0x9004, type: TYPES.ASCII, value: local },
  ];
  const gps = lat === undefined ? [] : [
    { tag: 0x0000, type: TYPES.BYTE, value: [2, 3, 0, 0] },
    { tag: 0x0001, type: TYPES.ASCII, value: lat >= 0 ? 'N' : 'S' },
    { tag: 0x0002, type: TYPES.RATIONAL, value: dms(lat) },
    { tag: 0x0003, type: TYPES.ASCII, value: lon >= 0 ? 'E' : 'W' },
    { tag: 0x0004, type: TYPES.RATIONAL, value: dms(lon) },
    { tag: 0x0007, type: TYPES.RATIONAL, value: [[Number(utc.slice(11, 13)), 1], [Number(utc.slice(14, 16)), 1], [Number(utc.slice(17, 19)), 1]] },
    { tag: 0x001d, type: TYPES.ASCII, value: `${utc.slice(0, 4)}:${utc.slice(5, 7)}:${utc.slice(8, 10)}` },
  ];
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff(ifd0, exif, gps)]);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length + 2);
  return Buffer.concat([Buffer.from([0xff, 0xe1]), len, body]);
}

/**
 * A real JPEG drawn by the browser (a pattern from `seed`, so two photos are not alike), with an
 * EXIF block put in right after SOI. `page` may be any page of the test's browser.
 */
export async function makeJpeg(page, { width = 1200, height = 900, seed = 1, quality = 0.9, noise = false, ...exif } = {}) {
  const b64 = await page.evaluate(async ({ width, height, seed, quality, noise }) => {
    let s = seed * 9301 + 49297;
    const rnd = () => { s = (s * 9301 + 49297) % 233280; return s / 233280; };
    const c = new OffscreenCanvas(width, height);
    const g = c.getContext('2d');
    g.fillStyle = `hsl(${Math.floor(rnd() * 360)},60%,70%)`;
    g.fillRect(0, 0, width, height);
    for (let i = 0; i < 60; i++) {
      g.fillStyle = `hsl(${Math.floor(rnd() * 360)},${40 + Math.floor(rnd() * 50)}%,${20 + Math.floor(rnd() * 60)}%)`;
      const kind = rnd();
      const x = rnd() * width; const y = rnd() * height; const r = (0.05 + rnd() * 0.3) * Math.min(width, height);
      if (kind < 0.5) g.fillRect(x - r, y - r / 2, r * 2 * rnd() + 10, r * rnd() + 10);
      else { g.beginPath(); g.arc(x, y, r, 0, Math.PI * 2); g.fill(); }
    }
    if (noise) {
      // Grain, as a dim room gives a phone camera: it keeps the JPEG large after shrinking.
      const img = g.getImageData(0, 0, width, height);
      for (let i = 0; i < img.data.length; i += 4) {
        const n = (rnd() - 0.5) * 90;
        img.data[i] += n; img.data[i + 1] += n; img.data[i + 2] += n;
      }
      g.putImageData(img, 0, 0);
    }
    const blob = await c.convertToBlob({ type: 'image/jpeg', quality });
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let bin = '';
    for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(bin);
  }, { width, height, seed, quality, noise });
  const jpeg = Buffer.from(b64, 'base64');
  let rest = 2;
  if (jpeg[2] === 0xff && jpeg[3] === 0xe0) rest = 4 + jpeg.readUInt16BE(4);
  return Buffer.concat([jpeg.subarray(0, 2), exifSegment(exif), jpeg.subarray(rest)]);
}

/** A point `metres` north of `p` (WGS-84). */
export function north(p, metres) {
  return { lat: p.lat + metres / 111_195, lon: p.lon };
}

// ---- the home-visit form ------------------------------------------------------------------------

const field = (page, path) => page.locator(`[data-field="${path}"]`);

/** Taps a choice of a select field. */
export async function choose(page, path, value) {
  await field(page, path).locator(`button[data-value="${value}"]`).click();
}

/**
 * Fills the demo's home_visit form (one member, the head) with valid answers; photos are set with
 * `photos.house` and `photos.sheet` (both signatures on one sheet, the second field reusing it).
 */
export async function fillHomeVisit(page, { photos } = {}) {
  await choose(page, 'dibao_investigation', 'no');
  await choose(page, 'staff_present', 'staff_01');
  await page.locator('[data-testid="add-members"]').click();
  await field(page, 'members[0].member_name').locator('input').fill('陈美琴');
  await choose(page, 'members[0].relation', 'head');
  await field(page, 'members[0].id_number').locator('input').fill('430524197211171708');
  await field(page, 'members[0].birth_date').locator('input').fill('1972-11-17');
  await choose(page, 'members[0].health', 'healthy');
  await choose(page, 'members[0].disability_level', 'none');
  await choose(page, 'members[0].work_status', 'employed');
  await field(page, 'members[0].income_wages').locator('input').fill('36000');
  await choose(page, 'housing_type', 'owned');
  await field(page, 'housing_area').locator('input').fill('56.5');
  await choose(page, 'safety_grade', 'a');
  for (const name of ['vehicles', 'savings', 'medical_oop_12m', 'school_oop_12m']) await field(page, name).locator('input').fill('0');
  await choose(page, 'hardship_causes', 'schooling');
  if (photos?.house) await takePhoto(page, 'house_photo', photos.house);
  if (photos?.sheet) {
    await takePhoto(page, 'staff_signature', photos.sheet);
    await page.locator('[data-testid="reuse-family_signature"]').click();
  }
}

/** Feeds a JPEG to a photo field's camera input and waits for the shrunk preview. */
export async function takePhoto(page, path, buffer) {
  await page.locator(`[data-testid="photo-${path}"]`).setInputFiles({ name: `${path}.jpg`, mimeType: 'image/jpeg', buffer });
  await field(page, path).locator('[data-testid=photo-thumb]').waitFor();
}

/**
 * The photos the app holds in IndexedDB, read through its own modules: id, owner, state, size,
 * pixel size, and what the EXIF block of the queued blob says (present, Orientation, GPS present).
 */
export async function storedPhotos(page) {
  return page.evaluate(async () => {
    const base = document.querySelector('script[type=module]').src.replace(/app\.js$/, '');
    const store = await import(`${base}store.js`);
    const photo = await import(`${base}photo.js`);
    const out = [];
    for (const p of await store.photos()) {
      let exif = null;
      if (p.blob) {
        const bytes = new Uint8Array(await p.blob.arrayBuffer());
        const app1 = photo.findExif(bytes);
        if (app1) {
          const copy = app1.slice();
          const orientation = photo.resetOrientation(copy);
          const text = new TextDecoder('latin1').decode(app1);
          exif = { orientation, bytes: app1.length, make: text.includes('Jiuzhu') };
        }
        // The JPEG's own SOF: the picture as drawn.
      }
      out.push({ id: p.id, owner: p.owner, state: p.state, size: p.size, width: p.width, height: p.height, exif, upload_id: p.upload_id, offset: p.offset });
    }
    return out;
  });
}

/** Width and height from a JPEG's first SOF marker. */
export function jpegSize(buf) {
  let i = 2;
  while (i < buf.length) {
    const marker = buf[i + 1];
    const len = buf.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) return { height: buf.readUInt16BE(i + 5), width: buf.readUInt16BE(i + 7) };
    i += 2 + len;
  }
  return null;
}
