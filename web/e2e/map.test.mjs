// The map: MapLibre draws the grids, households and visit fixes of the caller's area over a plain
// background, with nothing fetched from another origin; a click gives a card and says where it is.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, login, shot, publishScreenshot } from './harness.mjs';

test('the district map draws its grids and households, and a click says where it is', async (t) => {
  const { page, server } = await setup(t);
  await page.goto(`${server.url}/`);
  await login(page, 'district');
  await page.locator('nav.sidebar a', { hasText: '地图' }).click();
  const map = page.locator('[data-testid=map]');
  await page.waitForFunction(() => document.querySelector('[data-testid=map]')?.dataset.drawn === 'true', null, { timeout: 90_000 });
  assert.equal(await map.locator('canvas.maplibregl-canvas').count(), 1, 'a WebGL canvas');
  const rendered = JSON.parse(await map.getAttribute('data-rendered'));
  assert.ok(rendered.grids > 50, `grids drawn: ${rendered.grids}`);
  assert.ok(rendered.households > 100, `households drawn: ${rendered.households}`);
  const legend = await page.locator('.map-side .hint').first().innerText();
  assert.match(legend, /278 个网格/, legend);

  // Click the middle of the map: a card for what is there and the unit chain of the point.
  const box = await map.boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  const answer = page.locator('[data-testid=locate-answer]');
  await answer.waitFor();
  const words = await answer.innerText();
  assert.match(words, /区|网格|不在/, words);
  assert.match(words, /天宁/, `the middle of the district lies in 天宁区: ${words}`);
  await shot(page, 'map-district');

  // Zoom in on the clicked point and pick a household: its card links to the household.
  for (let i = 0; i < 4; i++) await page.mouse.wheel(0, -400);
  await page.waitForTimeout(300);
  await page.waitForFunction(() => document.querySelector('[data-testid=map]').dataset.idle === 'true', null, { timeout: 30_000 });
  const target = await page.evaluate(() => {
    const el = document.querySelector('[data-testid=map]');
    return el.dataset.sample ? JSON.parse(el.dataset.sample) : null;
  });
  assert.ok(target, 'a household is on screen after zooming in');
  await page.mouse.click(box.x + target.x, box.y + target.y);
  await page.locator('[data-testid=map-card] a[href^="#/households/"]').first().waitFor();
  await shot(page, 'map-household-card');
});

test('a point outside the city is said to be outside', async (t) => {
  const { page, server } = await setup(t);
  await page.goto(`${server.url}/`);
  await login(page, 'district');
  await page.goto(`${server.url}/#/map`);
  await page.waitForFunction(() => document.querySelector('[data-testid=map]')?.dataset.drawn === 'true', null, { timeout: 90_000 });
  // Zoom far out so that the corner of the map is far outside 常州.
  const map = page.locator('[data-testid=map]');
  const box = await map.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let i = 0; i < 10; i++) await page.mouse.wheel(0, 600);
  await page.waitForTimeout(1000);
  await page.mouse.click(box.x + 12, box.y + box.height - 40);
  const answer = page.locator('[data-testid=locate-answer]');
  await answer.waitFor();
  assert.match(await answer.innerText(), /不在本市范围内/);
});

test('a coordinator\'s map shows the community\'s grids by coverage and its visit fixes with their flags', async (t) => {
  const { page, server } = await setup(t);
  await page.goto(`${server.url}/`);
  await login(page, 'coordinator');
  await page.goto(`${server.url}/#/map`);
  const map = page.locator('[data-testid=map]');
  await page.waitForFunction(() => document.querySelector('[data-testid=map]')?.dataset.drawn === 'true', null, { timeout: 90_000 });
  const rendered = JSON.parse(await map.getAttribute('data-rendered'));
  assert.ok(rendered.grids >= 1 && rendered.grids < 278, `only the community's grids: ${rendered.grids}`);
  assert.ok(rendered.visits > 0, `the community's visit fixes are drawn: ${rendered.visits}`);
  const legend = await page.locator('.map-side').innerText();
  const flagged = Number(/有核验提示 · (\d+)/.exec(legend)?.[1]);
  assert.ok(flagged > 0, `the demo's flagged visits are counted: ${legend}`);
  // A flagged visit's card names its flags and links to its review.
  const target = await page.evaluate(() => JSON.parse(document.querySelector('[data-testid=map]').dataset.visitSample ?? 'null'));
  assert.ok(target, 'a visit fix on screen');
  const box = await map.boundingBox();
  await page.mouse.click(box.x + target.x, box.y + target.y);
  await page.locator('[data-testid=map-card] a[href^="#/visits/"]').first().waitFor();
  publishScreenshot(await shot(page, 'map'), 'console-map.png');
});
