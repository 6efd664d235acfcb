// Console load benchmark (issue 18): in headless Chromium against `jiuzhu serve --demo` (the
// 20,000-household demo city), with a cold browser cache each run:
//   - JS + CSS bytes transferred before the overview is usable (and their gzipped size, measured here
//     when the server sends them uncompressed),
//   - time from navigation to a usable overview (its numbers on screen),
//   - time from navigation to a drawn map (MapLibre idle with the grids and households drawn).
//
//   node bench/web/console_load.mjs [--runs 5] [--user district]
//
// Needs web/node_modules (cd web && npm ci) and a server binary (JIUZHU_BIN, else target/release/jiuzhu,
// else target/debug/jiuzhu; a release build is the one to quote).

import { gzipSync } from 'node:zlib';
import { rmSync } from 'node:fs';
import { freshDataDir, startServer, launchBrowser, apiToken, serverBinary, DEMO_PASSWORD } from '../../web/e2e/harness.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const RUNS = Number(opt('runs', 5));
const USER = opt('user', 'district');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** A browser page that already holds a session (the log-in form is not what is measured). */
async function pageWithSession(server) {
  const res = await fetch(`${server.url}/api/v1/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: USER, password: DEMO_PASSWORD }),
  });
  if (!res.ok) throw new Error(`log-in: ${res.status}`);
  const pair = await res.json();
  const session = JSON.stringify({ access_token: pair.access_token, refresh_token: pair.refresh_token, access_expires_at: pair.access_expires_at, user: pair.user });
  const { browser, userDataDir } = await launchBrowser();
  const page = browser.pages()[0] ?? await browser.newPage();
  await page.addInitScript((s) => { sessionStorage.setItem('jiuzhu.session', s); }, session);
  return { browser, userDataDir, page };
}

/** Records every response's transferred size (CDP) and, for JS and CSS, the gzipped size of its body. */
async function recordTransfers(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const byId = new Map();
  const sentAt = new Map();
  cdp.on('Network.requestWillBeSent', (e) => { sentAt.set(e.requestId, e.timestamp); });
  cdp.on('Network.responseReceived', (e) => {
    byId.set(e.requestId, { url: e.response.url, mime: e.response.mimeType, encoding: (e.response.headers['content-encoding'] || e.response.headers['Content-Encoding'] || '').toLowerCase(), t: e.timestamp });
  });
  const done = [];
  cdp.on('Network.loadingFinished', (e) => {
    const r = byId.get(e.requestId);
    if (r) done.push({ ...r, transferred: e.encodedDataLength, requestId: e.requestId, sentAt: sentAt.get(e.requestId), finishedAt: e.timestamp });
  });
  const bodies = new Map();
  page.on('response', async (res) => {
    const type = res.request().resourceType();
    if (type !== 'script' && type !== 'stylesheet') return;
    try {
      const body = await res.body();
      bodies.set(res.url(), { raw: body.length, gz: gzipSync(body, { level: 6 }).length });
    } catch { /* a body the page no longer holds */ }
  });
  return { done, bodies };
}

function isCode(r) {
  return /javascript|css/.test(r.mime) || /\.(m?js|css)(\?|$)/.test(r.url);
}

async function measureOverview(server) {
  const { browser, userDataDir, page } = await pageWithSession(server);
  try {
    const rec = await recordTransfers(page);
    const t0 = Date.now();
    await page.goto(`${server.url}/#/overview`);
    await page.locator('[data-testid=overview-numbers]').waitFor({ timeout: 30_000 });
    const usableMs = Date.now() - t0;
    await page.waitForTimeout(300); // bodies of the responses seen so far
    // What the page needed to become usable: the code requested before the overview's figures came
    // back. The figures' own render then asks for ECharts; that is after "usable", counted below.
    const figures = rec.done.find((r) => r.url.includes('/api/v1/stats/overview'));
    const code = rec.done.filter((r) => isCode(r) && r.sentAt <= figures.finishedAt);
    const transferred = code.reduce((s, r) => s + r.transferred, 0);
    const raw = code.reduce((s, r) => s + (rec.bodies.get(r.url)?.raw ?? 0), 0);
    const gz = code.reduce((s, r) => s + (rec.bodies.get(r.url)?.gz ?? 0), 0);
    const compressed = code.every((r) => r.encoding === 'gzip' || r.encoding === 'br');
    // Charts afterwards (lazy ECharts): when are they drawn, and what did they cost?
    await page.waitForFunction(() => [...document.querySelectorAll('.chart')].length > 0 && [...document.querySelectorAll('.chart')].every((c) => c.dataset.drawn === 'true'), null, { timeout: 30_000 });
    const chartsMs = Date.now() - t0;
    // Let the heavy statistics (MPI, relative poverty) finish, so that the server is idle again for
    // the next measurement instead of still computing for a closed page.
    await page.locator('[data-testid=mpi-numbers]').waitFor({ timeout: 120_000 });
    await page.locator('[data-testid=relative-poverty]').waitFor({ timeout: 120_000 });
    const statsMs = Date.now() - t0;
    await page.waitForTimeout(300);
    const all = rec.done.filter(isCode);
    const allGz = all.reduce((s, r) => s + (rec.bodies.get(r.url)?.gz ?? 0), 0);
    return { usableMs, chartsMs, statsMs, files: code.length, transferred, raw, gz, compressed, allGz, list: code.map((r) => [r.url.replace(server.url, ''), r.transferred, rec.bodies.get(r.url)?.gz ?? 0]) };
  } finally {
    await browser.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

async function measureMap(server) {
  const { browser, userDataDir, page } = await pageWithSession(server);
  try {
    const rec = await recordTransfers(page);
    const t0 = Date.now();
    await page.goto(`${server.url}/#/map`);
    await page.waitForFunction(() => document.querySelector('[data-testid=map]')?.dataset.drawn === 'true', null, { timeout: 120_000, polling: 50 });
    const drawnMs = Date.now() - t0;
    const rendered = JSON.parse(await page.locator('[data-testid=map]').getAttribute('data-rendered'));
    const data = rec.done.filter((r) => r.url.includes('/api/v1/'));
    const apiBytes = data.reduce((s, r) => s + r.transferred, 0);
    return { drawnMs, rendered, apiRequests: data.length, apiBytes };
  } finally {
    await browser.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

async function main() {
  console.log(`server: ${serverBinary()}`);
  const dataDir = await freshDataDir();
  const server = await startServer(dataDir);
  try {
    await apiToken(server, USER); // warm the password hasher and the database
    await measureOverview(server); // and the server's file cache (not counted)
    const ov = [];
    const mp = [];
    for (let i = 0; i < RUNS; i++) {
      ov.push(await measureOverview(server));
      mp.push(await measureMap(server));
    }
    const last = ov[ov.length - 1];
    console.log(`\nJS+CSS before a usable overview (${USER}): ${last.files} files, ${(last.raw / 1024).toFixed(1)} KB raw, ` +
      `${(last.transferred / 1024).toFixed(1)} KB transferred (${last.compressed ? 'compressed by the server' : 'NOT compressed by the server'}), ` +
      `${(last.gz / 1024).toFixed(1)} KB gzipped`);
    for (const [url, tr, gz] of last.list) console.log(`  ${url}  ${(tr / 1024).toFixed(1)} KB transferred, ${(gz / 1024).toFixed(1)} KB gz`);
    console.log(`JS+CSS once the charts are drawn too: ${(last.allGz / 1024).toFixed(1)} KB gzipped`);
    console.log(`usable overview: median ${median(ov.map((x) => x.usableMs))} ms (runs: ${ov.map((x) => x.usableMs).join(', ')})`);
    console.log(`overview charts drawn: median ${median(ov.map((x) => x.chartsMs))} ms; relative poverty and MPI shown: median ${median(ov.map((x) => x.statsMs))} ms`);
    console.log(`drawn map: median ${median(mp.map((x) => x.drawnMs))} ms (runs: ${mp.map((x) => x.drawnMs).join(', ')}); ` +
      `rendered ${JSON.stringify(mp[0].rendered)}; ${mp[0].apiRequests} API requests, ${(mp[0].apiBytes / 1024).toFixed(0)} KB`);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
