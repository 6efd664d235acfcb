// Two-step verification (authenticator codes, RFC 6238): an officer turns it on from the console and
// then logs in with a code (a wrong one refused in words); where admins must have it, the demo admin
// lands on the enrolment page, not the shell, until enrolled; an admin resets another account's (a lost
// phone) from the users screen, and that account logs in with the password alone.
//
// The codes are computed here (HMAC-SHA1 over the 30-second step, RFC 4226's truncation), from the
// secret the page shows as a person would type it. The server takes each step once per account and
// accepts the steps next to the current one, so every code here is of a later step than the one before.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { setup, login, shot, apiToken, apiCall, DEMO_PASSWORD } from './harness.mjs';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (spaces and padding ignored, any case) → bytes. */
function base32Decode(text) {
  const bytes = [];
  let bits = 0;
  let value = 0;
  for (const c of text.replace(/[\s=]/g, '').toUpperCase()) {
    const i = BASE32.indexOf(c);
    if (i < 0) throw new Error(`not base32: ${c}`);
    value = ((value << 5) | i) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}

const stepNow = () => Math.floor(Date.now() / 1000 / 30);

/** The six digits of `secret` (base32) at a 30-second step. */
function totp(secret, step = stepNow()) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const at = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/** RFC 6238's test secret ("12345678901234567890") gives its published codes. */
test('the test\'s TOTP is RFC 6238\'s', () => {
  const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
  assert.equal(totp(secret, Math.floor(59 / 30)), '287082');
  assert.equal(totp(secret, Math.floor(1111111109 / 30)), '081804');
  assert.equal(totp(secret, Math.floor(1234567890 / 30)), '005924');
});

/**
 * An account's authenticator: each code is of a step after the last one given (the current step, else
 * the next, which the server accepts too); when both are spent it waits for the clock.
 */
function authenticator(secret) {
  let used = -Infinity;
  return {
    secret,
    async code() {
      for (;;) {
        const now = stepNow();
        const step = Math.max(now, used + 1);
        if (step <= now + 1) {
          used = step;
          return totp(secret, step);
        }
        await new Promise((r) => { setTimeout(r, (now + 1) * 30_000 - Date.now() + 200); });
      }
    },
  };
}

/** A code that is not the right one (nor one of the steps beside it). */
function wrongCode(secret) {
  const now = stepNow();
  const near = new Set([-1, 0, 1].map((d) => totp(secret, now + d)));
  for (let n = 0; ; n++) {
    const guess = String((Number(totp(secret, now)) + 1 + n) % 1_000_000).padStart(6, '0');
    if (!near.has(guess)) return guess;
  }
}

/** The secret the enrolment shows, as typed by hand (groups of four). */
async function shownSecret(page) {
  const text = await page.locator('[data-testid=second-factor-secret]').innerText();
  assert.match(text, /^([A-Z2-7]{4} )*[A-Z2-7]{1,4}$/, `the key is shown in groups of four: ${text}`);
  return text.replace(/\s+/g, '');
}

/** The QR code is an image of the server's SVG, not markup in the page. */
async function assertQrImage(page) {
  const qr = page.locator('[data-testid=second-factor-setup] img.qr');
  const src = await qr.getAttribute('src');
  assert.match(src, /^data:image\/svg\+xml;base64,/);
  assert.match(Buffer.from(src.split(',')[1], 'base64').toString('utf8'), /^\s*(<\?xml[^>]*>\s*)?<svg[\s>]/);
  assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code is drawn');
  assert.ok((await qr.getAttribute('alt')).length > 0, 'the QR code has a text alternative');
  assert.equal(await page.locator('[data-testid=second-factor-setup] svg').count(), 0, 'no SVG markup in the page');
}

/** The code field: a numeric keypad, one-time-code autofill, and the focus. */
async function assertCodeField(page) {
  const field = page.locator('input[name=second_factor_code]');
  await field.waitFor();
  assert.equal(await field.getAttribute('inputmode'), 'numeric');
  assert.equal(await field.getAttribute('autocomplete'), 'one-time-code');
  const id = await field.getAttribute('id');
  assert.match(await page.locator(`label[for="${id}"]`).innerText(), /动态验证码/, 'the field is labelled');
  await page.waitForFunction(() => document.activeElement?.name === 'second_factor_code');
  return field;
}

/** The users screen's row of one account. */
const userRow = (page, username) => page.locator('.table-wrap table tbody tr')
  .filter({ has: page.locator('td:first-child .mono', { hasText: new RegExp(`^${username}$`) }) });

async function submitLogin(page, username, password = DEMO_PASSWORD) {
  await page.locator('input[name=username]').fill(username);
  await page.locator('input[name=password]').fill(password);
  await page.locator('form.login-box button[type=submit]').click();
}

test('an officer turns two-step verification on, then logs in with a code', async (t) => {
  const { page, server, allow } = await setup(t);
  allow(401, '/api/v1/auth/login'); // second_factor_required, then second_factor_invalid
  await page.goto(`${server.url}/`);
  await login(page, 'district');
  await page.getByRole('button', { name: '账号安全' }).click();
  const dialog = page.getByRole('dialog', { name: '账号安全' });
  assert.match(await dialog.locator('[data-testid=second-factor-state]').innerText(), /未开启/);
  await dialog.getByRole('button', { name: '开启两步验证' }).click();
  await dialog.locator('[data-testid=second-factor-setup]').waitFor();
  await assertQrImage(page);
  const app = authenticator(await shownSecret(page));
  await assertCodeField(page);
  await shot(page, 'second-factor-setup');
  await dialog.locator('input[name=second_factor_code]').fill(await app.code());
  await dialog.getByRole('button', { name: '确认开启' }).click();
  await dialog.locator('[data-testid=second-factor-state]', { hasText: '已开启' }).waitFor();
  assert.equal(await dialog.locator('[data-testid=second-factor-setup]').count(), 0);
  await dialog.getByRole('button', { name: '关闭' }).click();
  // The same session goes on; a reload remembers the account has it.
  await page.reload();
  await page.getByRole('button', { name: '账号安全' }).click();
  await page.getByRole('dialog').locator('[data-testid=second-factor-state]', { hasText: '已开启' }).waitFor();
  await page.keyboard.press('Escape');

  page.allow(401, '/api/v1/'); // answers still on their way when the session ends
  await page.getByRole('button', { name: '退出' }).click();
  await page.locator('input[name=username]').waitFor();
  await submitLogin(page, 'district');
  const field = await assertCodeField(page);
  assert.equal(await page.locator('nav.sidebar').count(), 0, 'no shell on the password alone');
  assert.equal(await page.locator('form.login-box .error-line').count(), 0, 'being asked for the code is no error');
  await shot(page, 'second-factor-login');

  await field.fill(wrongCode(app.secret));
  await page.locator('form.login-box button[type=submit]').click();
  await page.locator('form.login-box .error-line', { hasText: '验证码错误或已使用' }).waitFor();
  assert.equal(await field.inputValue(), '', 'the refused code is cleared');
  await page.waitForFunction(() => document.activeElement?.name === 'second_factor_code');
  assert.equal(await page.locator('nav.sidebar').count(), 0);

  await field.fill(await app.code());
  await page.locator('form.login-box button[type=submit]').click();
  await page.locator('nav.sidebar').waitFor();
  assert.match(await page.locator('[data-testid=who]').innerText(), /天宁区民政局/);
});

test('where admins must have it, the demo admin enrols before seeing the shell', async (t) => {
  const { page, server, allow } = await setup(t, { serverEnv: { JIUZHU_ADMIN_SECOND_FACTOR: 'true' } });
  // Until enrolled, the server opens nothing else to the admin's session.
  const token = await apiToken(server, 'admin');
  const refused = await apiCall(server, token, 'GET', '/users', undefined, { okStatuses: [403] });
  assert.equal(refused.error, 'second_factor_enrolment_required', JSON.stringify(refused));

  await page.goto(`${server.url}/`);
  await submitLogin(page, 'admin');
  const enrolment = page.locator('[data-testid=second-factor-enrolment]');
  await enrolment.waitFor();
  assert.equal(await page.locator('nav.sidebar').count(), 0, 'no shell before enrolment');
  await assertQrImage(page);
  await assertCodeField(page);
  await shot(page, 'second-factor-enrolment');

  // A stored session that did not know it must enrol learns it from the server's 403 after a reload.
  allow(403, '/api/v1/');
  await page.evaluate(() => {
    const s = JSON.parse(sessionStorage.getItem('jiuzhu.session'));
    delete s.second_factor_enrolment_required;
    sessionStorage.setItem('jiuzhu.session', JSON.stringify(s));
  });
  await page.reload();
  await enrolment.waitFor();
  assert.equal(await page.locator('nav.sidebar').count(), 0);

  // Each start is a new secret, so the one shown now counts; only enrolment and log-out are offered.
  const app = authenticator(await shownSecret(page));
  assert.deepEqual((await enrolment.getByRole('button').allInnerTexts()).filter((b) => !['中文', 'English'].includes(b)), ['确认开启', '退出']);
  await enrolment.locator('input[name=second_factor_code]').fill(await app.code());
  await enrolment.getByRole('button', { name: '确认开启' }).click();
  await page.locator('nav.sidebar').waitFor();
  await page.locator('nav.sidebar a', { hasText: '系统管理' }).waitFor();
  assert.equal(await enrolment.count(), 0);

  await page.reload();
  await page.locator('nav.sidebar').waitFor();
  await page.locator('nav.sidebar a', { hasText: '系统管理' }).click();
  const own = userRow(page, 'admin');
  await own.locator('.badge', { hasText: '已开启' }).waitFor();
  assert.equal(await enrolment.count(), 0, 'after a reload it stays in the shell');
  // Own second factor: another admin must reset it.
  await own.click();
  const dialog = page.getByRole('dialog');
  await dialog.locator('[data-testid=user-second-factor]', { hasText: '其他管理员' }).waitFor();
  assert.equal(await dialog.getByRole('button', { name: '重置两步验证' }).count(), 0);
});

test('an admin resets a lost phone\'s second factor, and the account logs in with its password', async (t) => {
  const { page, server } = await setup(t);
  // The street officer turns it on through the API, as the console would.
  const street = await apiToken(server, 'street');
  const started = await apiCall(server, street, 'POST', '/auth/second-factor');
  assert.match(started.otpauth_uri, /^otpauth:\/\/totp\/Jiuzhu:street\?/);
  assert.match(started.otpauth_uri, new RegExp(`secret=${started.secret}`));
  const app = authenticator(started.secret);
  const confirmed = await apiCall(server, street, 'POST', '/auth/second-factor/confirm', { code: await app.code() });
  assert.equal(confirmed.second_factor, true);
  const asked = await apiCall(server, null, 'POST', '/auth/login', { username: 'street', password: DEMO_PASSWORD }, { okStatuses: [401] });
  assert.equal(asked.error, 'second_factor_required', JSON.stringify(asked));
  // One's own cannot be reset by oneself.
  const admin = await apiToken(server, 'admin');
  const me = await apiCall(server, admin, 'GET', '/me');
  const own = await apiCall(server, admin, 'DELETE', `/users/${me.id}/second-factor`, undefined, { okStatuses: [403] });
  assert.equal(own.error, 'forbidden', JSON.stringify(own));

  await page.goto(`${server.url}/`);
  await login(page, 'admin');
  await page.goto(`${server.url}/#/admin/users`);
  const row = userRow(page, 'street');
  await row.locator('.badge', { hasText: '已开启' }).waitFor();
  await row.click();
  const dialog = page.getByRole('dialog');
  const section = dialog.locator('[data-testid=user-second-factor]');
  await section.getByRole('button', { name: '重置两步验证' }).click();
  // It asks first; cancelling leaves it on.
  await section.getByRole('button', { name: '取消' }).click();
  await section.getByRole('button', { name: '重置两步验证' }).click();
  assert.match(await section.locator('.notice').innerText(), /只凭密码即可登录/);
  await shot(page, 'second-factor-reset');
  const reset = page.waitForResponse((r) => r.url().endsWith('/second-factor') && r.request().method() === 'DELETE');
  await section.getByRole('button', { name: '确定重置' }).click();
  assert.equal((await reset).status(), 200);
  await dialog.waitFor({ state: 'detached' });
  await row.locator('.badge', { hasText: '未开启' }).waitFor();

  page.allow(401, '/api/v1/');
  await page.getByRole('button', { name: '退出' }).click();
  await login(page, 'street');
  assert.equal(await page.locator('input[name=second_factor_code]').count(), 0);
  assert.match(await page.locator('[data-testid=who]').innerText(), /街道民政办/);
});
