// Built-in HTTPS (`serve --tls-cert/--tls-key`): the phone app opened on a name that is not localhost,
// through a certificate signed by a CA made here, is a secure context: its service worker registers and
// geolocation is allowed. Over plain HTTP on the same name neither would be.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, REPO, freshDataDir, guard, serverBinary } from './harness.mjs';

const NAME = 'jiuzhu.test';

function openssl(args, cwd) {
  return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A CA and a server certificate for NAME signed by it; returns the files and the server key's SPKI hash. */
function makeCertificates(dir) {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Jiuzhu test CA',
    '-keyout', 'ca-key.pem', '-out', 'ca.pem'], dir);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${NAME}`, '-keyout', 'server-key.pem',
    '-out', 'server.csr'], dir);
  writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=DNS:${NAME}\n`);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial',
    '-days', '2', '-extfile', 'ext.cnf', '-out', 'server.pem'], dir);
  // Chromium trusts a certificate whose public key hash is listed (as an installed CA would make it).
  const pub = openssl(['x509', '-in', 'server.pem', '-pubkey', '-noout'], dir);
  writeFileSync(join(dir, 'pub.pem'), pub);
  const der = openssl(['pkey', '-pubin', '-in', 'pub.pem', '-outform', 'der'], dir);
  writeFileSync(join(dir, 'pub.der'), der);
  const spki = openssl(['dgst', '-sha256', '-binary', 'pub.der'], dir).toString('base64');
  return { cert: join(dir, 'server.pem'), key: join(dir, 'server-key.pem'), spki };
}

function startTls(dataDir, cert, key) {
  const child = spawn(serverBinary(), ['serve', '--demo', '--bind', '127.0.0.1:0', '--data-dir', dataDir,
    '--tls-cert', cert, '--tls-key', key], { cwd: REPO, env: { ...process.env, RUST_LOG: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no listening line:\n${out}`)); }, 120_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /listening on (https?):\/\/[^:\s]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ scheme: m[1], port: Number(m[2]), child });
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}:\n${out}`)); });
  });
}

test('the phone app over HTTPS on an intranet name: secure context, service worker, geolocation', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'jiuzhu-tls-'));
  const dataDir = await freshDataDir();
  const { cert, key, spki } = makeCertificates(dir);
  const server = await startTls(dataDir, cert, key);
  assert.equal(server.scheme, 'https', 'the server names its scheme');
  const origin = `https://${NAME}:${server.port}`;
  const userDataDir = mkdtempSync(join(tmpdir(), 'jiuzhu-chromium-'));
  // The harness's resolver rule sends every name but localhost nowhere; here the test name goes to
  // this machine and everything else still nowhere.
  const args = CHROMIUM_ARGS.filter((a) => !a.startsWith('--host-resolver-rules'));
  const browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [...args, `--host-resolver-rules=MAP ${NAME} 127.0.0.1, MAP * ~NOTFOUND`,
      `--ignore-certificate-errors-spki-list=${spki}`],
    viewport: { width: 412, height: 915 },
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
  });
  t.after(async () => {
    await browser.close();
    server.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    rmSync(userDataDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });
  await browser.grantPermissions(['geolocation'], { origin });
  await browser.setGeolocation({ latitude: 31.78, longitude: 119.97, accuracy: 8 });
  const page = browser.pages()[0] ?? await browser.newPage();
  const g = guard(page, origin);
  g.allow(401, '/api/v1/');
  const res = await page.goto(`${origin}/field/`);
  assert.equal(res.status(), 200);
  assert.equal(res.headers()['strict-transport-security'] ?? null, null, 'no HSTS on a test name');
  assert.equal(await page.evaluate(() => window.isSecureContext), true, 'a secure context');
  // The app registers its service worker; it becomes active.
  const scope = await page.evaluate(async () => {
    const reg = await Promise.race([
      navigator.serviceWorker.ready,
      new Promise((_, no) => setTimeout(() => no(new Error('no service worker within 20 s')), 20_000)),
    ]);
    return reg.scope;
  });
  assert.equal(scope, `${origin}/field/`);
  // Geolocation answers instead of "Only secure origins are allowed".
  const fix = await page.evaluate(() => new Promise((ok, no) => navigator.geolocation.getCurrentPosition(
    (p) => ok({ lat: p.coords.latitude, lon: p.coords.longitude }), (e) => no(new Error(e.message)), { timeout: 10_000 })));
  assert.ok(Math.abs(fix.lat - 31.78) < 1e-6 && Math.abs(fix.lon - 119.97) < 1e-6, JSON.stringify(fix));
  const problems = g.final();
  assert.deepEqual(problems, [], problems.join('\n'));
});
