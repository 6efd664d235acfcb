// The API's reference page (`/docs/`, Swagger UI) under its content security policy: it renders
// every operation from the served document, with no script, style or request the policy refuses
// (a refusal is a console error, which fails the test) and nothing fetched from another origin.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup } from './harness.mjs';

test('the API reference page renders under its content security policy', { timeout: 120_000 }, async (t) => {
  const { server, page } = await setup(t);
  const response = await page.goto(`${server.url}/docs/`);
  const policy = response.headers()['content-security-policy'] ?? '';
  assert.match(policy, /default-src 'none'/);
  assert.match(policy, /frame-ancestors 'none'/);
  assert.equal(response.headers()['x-frame-options'], 'DENY');
  await page.waitForFunction(() => document.querySelectorAll('.opblock').length > 50, null, { timeout: 60_000 });
  const operations = await page.locator('.opblock').count();
  const document = await (await fetch(`${server.url}/api/v1/openapi.json`)).json();
  const expected = Object.values(document.paths).flatMap((p) => Object.keys(p)).length;
  assert.equal(operations, expected, 'one block per operation of the served document');
});
