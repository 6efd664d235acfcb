// End-to-end harness for the web front ends: a real `jiuzhu serve --demo` per test on a copy of a demo
// data dir seeded once per run, and Debian's Chromium driven by playwright-core. A test fails on any
// JavaScript error, console error, failed request, 5xx, undeclared 4xx or request to another origin.
//
//   import { setup, login, shot } from './harness.mjs';
//   test('coordinator sees the board', async (t) => {
//     const { page, server, allow } = await setup(t);          // cleanup and the checks run in t.after
//     await login(page, 'coordinator');                        // waits for the console's shell
//     allow(409, '/api/v1/tasks/');                            // declare an expected 4xx (status, url substring or RegExp)
//     await page.goto(`${server.url}/#/tasks`);
//     await shot(page, 'tasks');                               // web/e2e/artifacts/tasks.png
//   });
//
// Environment: JIUZHU_BIN (else target/release/jiuzhu, else target/debug/jiuzhu), CHROMIUM (else
// /usr/bin/chromium), E2E_HEADFUL=1 to watch.

import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, copyFileSync, linkSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { chromium } from 'playwright-core';

export const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO = resolve(WEB, '..');
export const ARTIFACTS = join(WEB, 'e2e', 'artifacts');
export const DEMO_PASSWORD = 'jiuzhu-demo-2026';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/**
 * JIUZHU_BIN, else the newer of the release and debug builds: a release build embeds web/ as it was
 * when it was built, so an older one would test stale pages against today's tests.
 */
function findBinary() {
  if (process.env.JIUZHU_BIN) return resolve(process.env.JIUZHU_BIN);
  const built = ['target/release/jiuzhu', 'target/debug/jiuzhu']
    .map((p) => join(REPO, p))
    .filter((full) => existsSync(full))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (built.length) return built[0];
  throw new Error('no server binary: build it (cargo build -p server) or set JIUZHU_BIN');
}

let pinned = null;

/**
 * The server binary the tests run, pinned for this process: a hard link to the file found first, so
 * that a `cargo build` replacing it meanwhile changes nothing for the tests already running.
 */
export function serverBinary() {
  if (pinned && existsSync(pinned)) return pinned;
  const found = findBinary();
  const st = statSync(found);
  const link = join(tmpdir(), `jiuzhu-e2e-bin-${st.ino}-${Math.round(st.mtimeMs)}`);
  try {
    if (!existsSync(link)) linkSync(found, link);
    pinned = link;
    // The link would keep a replaced binary's disk space: drop it when this process ends (a test
    // process still running another server re-links the same file under the same name).
    process.once('exit', () => { try { rmSync(link, { force: true }); } catch { /* gone */ } });
  } catch {
    pinned = found; // another file system: run it where it is
  }
  return pinned;
}

/**
 * Starts `jiuzhu serve --demo` on a free port over `dataDir`; resolves once it prints its
 * `listening on http://...` line. Returns { url, port, process, stop(), output() }.
 */
export function startServer(dataDir, { extraArgs = [], env = {}, timeoutMs = 120_000 } = {}) {
  const bin = serverBinary();
  const child = spawn(bin, ['serve', '--demo', '--bind', '127.0.0.1:0', '--data-dir', dataDir, ...extraArgs], {
    cwd: REPO,
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exited = new Promise((res) => child.once('exit', (code, sig) => res({ code, sig })));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
  };
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`server did not print "listening on" within ${timeoutMs} ms\nstdout:\n${out.slice(-2000)}\nstderr:\n${err.slice(-4000)}`));
    }, timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m && timer) {
        clearTimeout(timer);
        const url = m[1].replace(/\/$/, '');
        resolvePromise({ url, port: Number(new URL(url).port), process: child, stop, output: () => ({ stdout: out, stderr: err }) });
      }
    });
    child.stderr.on('data', (chunk) => { err += chunk; if (err.length > 200_000) err = err.slice(-100_000); });
    exited.then(({ code, sig }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? sig}) before listening\nstdout:\n${out.slice(-2000)}\nstderr:\n${err.slice(-4000)}`));
    });
  });
}

/**
 * The demo data dir seeded once per binary (a first `serve --demo`, stopped again), shared by every
 * test process of the run through a directory lock in the temp folder.
 */
export async function templateDir() {
  const bin = serverBinary();
  const st = statSync(bin);
  const key = createHash('sha256').update(`${bin}:${st.size}:${st.mtimeMs}`).digest('hex').slice(0, 16);
  const base = join(tmpdir(), `jiuzhu-e2e-template-${key}`);
  const ready = join(base, 'READY');
  const data = join(base, 'data');
  const lock = `${base}.lock`;
  const deadline = Date.now() + 600_000;
  while (!existsSync(ready)) {
    try {
      mkdirSync(lock);
    } catch {
      // Another test process is seeding; a lock older than ten minutes is from a crashed run.
      try { if (Date.now() - statSync(lock).mtimeMs > 600_000) rmSync(lock, { recursive: true, force: true }); } catch { /* gone */ }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    try {
      if (existsSync(ready)) break;
      rmSync(base, { recursive: true, force: true });
      mkdirSync(data, { recursive: true });
      const t0 = Date.now();
      const server = await startServer(data, { timeoutMs: 300_000 });
      await server.stop();
      writeFileSync(join(base, 'seed.txt'), `seeded in ${Date.now() - t0} ms by ${bin}\n`);
      writeFileSync(ready, '');
      dropOldTemplates(base);
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  return data;
}

/** Templates of earlier binaries, seeded more than two hours ago, are not needed any more. */
function dropOldTemplates(keep) {
  for (const name of readdirSync(tmpdir())) {
    const dir = join(tmpdir(), name);
    if (!name.startsWith('jiuzhu-e2e-template-') || name.endsWith('.lock') || dir === keep) continue;
    try {
      if (Date.now() - statSync(join(dir, 'READY')).mtimeMs > 2 * 3600_000) rmSync(dir, { recursive: true, force: true });
    } catch { /* being seeded, or gone */ }
  }
}

/** A private copy of the seeded demo data dir. */
export async function freshDataDir() {
  const template = await templateDir();
  const dir = mkdtempSync(join(tmpdir(), 'jiuzhu-e2e-'));
  cpSync(template, dir, { recursive: true });
  return dir;
}

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions',
  // Nothing may leave the machine even if a page tried: every name but the test server's fails to resolve.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
];

/** Launches Chromium with a fresh profile. Returns { browser (a persistent BrowserContext: newPage, pages, close), userDataDir }. */
export async function launchBrowser({ args = [] } = {}) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'jiuzhu-chromium-'));
  const browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: !process.env.E2E_HEADFUL,
    args: [...CHROMIUM_ARGS, ...args],
    viewport: { width: 1280, height: 800 },
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    acceptDownloads: true,
  });
  return { browser, userDataDir };
}

function matches(pattern, url) {
  if (pattern === undefined || pattern === null) return true;
  return pattern instanceof RegExp ? pattern.test(url) : url.includes(pattern);
}

/**
 * Watches a page: every JavaScript error, console error, failed request, 5xx answer, 4xx answer not
 * declared with allow(), and request to another origin is recorded as a problem.
 *
 * `excuse({ kind, method, url, status, text, response })`, asked when a console error, a failed
 * request or a 4xx/5xx answer happens (kind 'console', 'failed' or 'status'), may return true for
 * one a test causes on purpose at that moment (a chaos proxy cutting connections): it then goes to
 * `excused` instead of `problems`.
 */
export function guard(page, origin, { excuse = null } = {}) {
  const problems = [];
  const excused = [];
  const allowed = []; // {status, url}
  const allow = (status, url) => { allowed.push({ status, url }); };
  const excusedNow = (event, text) => {
    if (!excuse?.(event)) return false;
    excused.push(text);
    return true;
  };
  page.on('pageerror', (e) => problems.push(`page error: ${e.stack || e.message || e}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    // Chromium logs every non-2xx fetch as a console error; the response handler judges those.
    if (/^Failed to load resource: the server responded with a status of \d+/.test(text)) return;
    const line = `console error: ${text} (${msg.location()?.url ?? ''})`;
    if (excusedNow({ kind: 'console', url: msg.location()?.url ?? '', text }, line)) return;
    problems.push(line);
  });
  // A reload or a navigation aborts the fetches still in flight: that is the test's doing, not a fault.
  // Decided at the end, since Chromium reports the abort before the new document arrives.
  let navigations = 0;
  const startedAt = new WeakMap();
  const aborted = [];
  page.on('domcontentloaded', () => { navigations++; });
  page.on('request', (req) => {
    startedAt.set(req, navigations);
    const url = req.url();
    if (url.startsWith('data:') || url.startsWith('blob:')) return;
    if (!url.startsWith(`${origin}/`) && url !== origin) problems.push(`request to another origin: ${req.method()} ${url}`);
  });
  page.on('requestfailed', (req) => {
    const url = req.url();
    const why = req.failure()?.errorText ?? '';
    // A download of an object URL ends its navigation with ERR_ABORTED: that is the download starting.
    if (url.startsWith('blob:') && why.includes('ERR_ABORTED')) return;
    const line = `request failed: ${req.method()} ${url} ${why}`;
    if (excusedNow({ kind: 'failed', method: req.method(), url, text: why }, line)) return;
    if (why.includes('ERR_ABORTED')) {
      aborted.push({ at: startedAt.get(req) ?? navigations, text: `request aborted with no new page to explain it: ${req.method()} ${url}` });
      return;
    }
    problems.push(line);
  });
  page.on('response', (res) => {
    const status = res.status();
    const url = res.url();
    if (status >= 400 && excusedNow({ kind: 'status', method: res.request().method(), url, status, response: res }, `${status}: ${res.request().method()} ${url}`)) return;
    if (status >= 500) problems.push(`server error ${status}: ${res.request().method()} ${url}`);
    else if (status >= 400 && !allowed.some((a) => (a.status === undefined || a.status === status) && matches(a.url, url))) {
      problems.push(`unexpected ${status}: ${res.request().method()} ${url}`);
    }
  });
  const final = () => [...problems, ...aborted.filter((a) => navigations <= a.at).map((a) => a.text)];
  return { problems, excused, allow, final };
}

/**
 * One test's world: a server on a fresh copy of the demo data, a browser, and a guarded page at 1280×800.
 * Registers cleanup on `t` (node:test's TestContext); the cleanup fails the test if the page had problems.
 * Returns { server, browser, page, allow, problems, assertClean(), newPage() }.
 */
export async function setup(t, { serverArgs = [], serverEnv = {} } = {}) {
  const dataDir = await freshDataDir();
  let server;
  try {
    server = await startServer(dataDir, { extraArgs: serverArgs, env: serverEnv });
  } catch (e) {
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  const { browser, userDataDir } = await launchBrowser();
  const guards = [];
  const newPage = async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(20_000);
    const g = guard(page, server.url);
    guards.push(g);
    page.allow = g.allow;
    return page;
  };
  const page = browser.pages()[0] ?? await browser.newPage();
  page.setDefaultTimeout(20_000);
  const g = guard(page, server.url);
  guards.push(g);
  page.allow = g.allow;
  const allProblems = () => guards.flatMap((x) => x.final());
  const assertClean = () => {
    const p = allProblems();
    if (p.length) throw new Error(`the page had ${p.length} problem(s):\n  ${p.join('\n  ')}`);
  };
  t.after(async () => {
    try {
      await browser.close();
    } finally {
      await server.stop();
      rmSync(userDataDir, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
    assertClean();
  });
  return { server, browser, page, allow: g.allow, problems: g.problems, assertClean, newPage, dataDir };
}

/**
 * Logs in through the console's form. `expect`: 'shell' (default: waits for the sidebar), 'notice'
 * (the phone-app notice for a grid worker or citizen), or 'error' (an error line).
 */
export async function login(page, username, { password = DEMO_PASSWORD, expect = 'shell', url } = {}) {
  const origin = url ?? new URL(page.url()).origin;
  if (!page.url().startsWith(origin) || !(await page.locator('input[name=username]').count())) {
    await page.goto(`${origin}/`);
  }
  await page.locator('input[name=username]').fill(username);
  await page.locator('input[name=password]').fill(password);
  await page.locator('form.login-box button[type=submit]').click();
  if (expect === 'shell') await page.locator('nav.sidebar').waitFor();
  else if (expect === 'notice') await page.locator('[data-testid=phone-app-notice]').waitFor();
  else if (expect === 'error') await page.locator('form.login-box .error-line').waitFor();
}

/** Opens the console at `server.url` and logs in (the usual first step). */
export async function openConsole(page, server, username, options = {}) {
  await page.goto(`${server.url}/`);
  await login(page, username, { ...options, url: server.url });
}

/** Writes a screenshot to web/e2e/artifacts/<name>.png and returns its path. */
export async function shot(page, name, options = {}) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, ...options });
  return path;
}

/** Copies an artifact into docs/screenshots/ (the README shows them). */
export function publishScreenshot(artifactPath, name) {
  const dir = join(REPO, 'docs', 'screenshots');
  mkdirSync(dir, { recursive: true });
  copyFileSync(artifactPath, join(dir, name));
}

/** Whether the document is wider than the viewport (a horizontal scrollbar). */
export async function horizontalOverflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

// ---- the API from Node, for a test's own setup ---------------------------------------------------

/** Logs in through the API; returns the access token. */
export async function apiToken(server, username, password = DEMO_PASSWORD) {
  const res = await fetch(`${server.url}/api/v1/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username, password }),
  });
  if (!res.ok) throw new Error(`log-in of ${username}: ${res.status} ${await res.text()}`);
  return (await res.json()).access_token;
}

/** A JSON call to the API; throws with the body on a non-2xx answer unless `okStatuses` includes it. */
export async function apiCall(server, token, method, path, body, { okStatuses = [] } = {}) {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok && !okStatuses.includes(res.status)) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}


