// Every field kind the form engine knows, on the phone: a form published by the admin, a task on it,
// and the answers checked live with the server's messages (bounds, lengths, skip logic,
// calculations, repeats), then accepted by the server as they were given.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shot } from './harness.mjs';
import { phone, fieldLogin, apiToken, apiCall, makeJpeg, choose } from './field.fixtures.mjs';

const L = (zh, en) => ({ zh, en });

const FORM = {
  key: 'field_kinds', version: 1, title: L('字段类型检查', 'Field kinds'),
  fields: [
    { name: 'info', kind: 'note', label: L('请逐项填写', 'Fill in each item') },
    { name: 'name', kind: 'text', label: L('姓名', 'Name'), required: true, max: 10 },
    { name: 'count', kind: 'integer', label: L('人数', 'Count'), min: 0, max: 5 },
    { name: 'double', kind: 'calculate', label: L('两倍', 'Twice'), calculate: 'coalesce(${count}, 0) * 2' },
    { name: 'area', kind: 'decimal', label: L('面积', 'Area') },
    { name: 'agree', kind: 'boolean', label: L('是否同意', 'Agree'), required: true },
    { name: 'when', kind: 'date', label: L('日期', 'Date'), constraint: '. <= today()', constraint_message: L('日期不能晚于今天', 'Not in the future') },
    { name: 'color', kind: 'select_one', label: L('颜色', 'Colour'), choices: [{ value: 'red', label: L('红', 'Red') }, { value: 'blue', label: L('蓝', 'Blue') }] },
    { name: 'why', kind: 'text', label: L('为什么是红色', 'Why red'), relevant: "${color} = 'red'", required: true },
    { name: 'tags', kind: 'select_multiple', label: L('标签', 'Tags'), min: 1, choices: [{ value: 'a', label: L('甲', 'A') }, { value: 'b', label: L('乙', 'B') }] },
    { name: 'spot', kind: 'geopoint', label: L('位置', 'Spot'), required: true },
    { name: 'pic', kind: 'photo', label: L('照片', 'Photo') },
    { name: 'kids', kind: 'repeat', label: L('子女', 'Children'), max: 2, fields: [{ name: 'kid', kind: 'text', label: L('子女姓名', 'Name'), required: true }] },
  ],
};

const errorOf = (page, path) => page.locator(`[data-field="${path}"] .error-line`);

test('every field kind: live checks with the server messages, and the server takes the answers', async (t) => {
  const world = await phone(t);
  const { page, context } = world;
  const admin = await apiToken(world.server, 'admin');
  await apiCall(world.server, admin, 'POST', '/forms', FORM);
  const worker = await apiToken(world.server, 'worker1');
  const me = await apiCall(world.server, worker, 'GET', '/me');
  const synced = await apiCall(world.server, worker, 'GET', '/sync');
  const household = synced.households.find((h) => h.location);
  const coordinator = await apiToken(world.server, 'coordinator');
  const due = new Date(Date.now() + 86_400_000 * 2).toISOString().slice(0, 10);
  const task = await apiCall(world.server, coordinator, 'POST', '/tasks', {
    kind: 'recheck', household_id: household.id, form_key: 'field_kinds', due_date: due, assignee_id: me.id, note: '字段检查',
  });
  await context.setGeolocation({ latitude: household.location.lat, longitude: household.location.lon, accuracy: 5 });
  await fieldLogin(page, world.url);
  await page.locator(`a[href="#/task/${task.id}"]`).click();
  await page.locator('[data-testid=start-visit]').click();
  await page.locator('[data-testid=visit]').waitFor();

  await page.locator('.note-field', { hasText: '请逐项填写' }).waitFor();
  const name = page.locator('[data-field="name"] input');
  await name.fill('一二三四五六七八九十十一');
  await name.blur();
  await errorOf(page, 'name').filter({ hasText: '至多 10 个字' }).waitFor();
  await name.fill('王小明');
  await page.locator('[data-field="count"] input').fill('7');
  await page.locator('[data-field="count"] input').blur();
  await errorOf(page, 'count').filter({ hasText: '大于最大值 5' }).waitFor();
  await page.locator('[data-field="count"] input').fill('3');
  assert.equal(await page.locator('[data-testid="calc-double"]').innerText(), '6');
  await page.locator('[data-field="area"] input').fill('12.5');
  await page.locator('[data-field="agree"] button', { hasText: '是' }).click();
  await page.locator('[data-field="when"] input').fill('2099-12-31');
  await page.locator('[data-field="when"] input').blur();
  await errorOf(page, 'when').filter({ hasText: '日期不能晚于今天' }).waitFor();
  await page.locator('[data-field="when"] input').fill('2026-01-02');
  // Skip logic: "why" only for red.
  assert.equal(await page.locator('[data-field="why"]').count(), 0);
  await choose(page, 'color', 'red');
  await page.locator('[data-field="why"] input').fill('喜欢');
  await choose(page, 'color', 'blue');
  await page.locator('[data-field="why"]').waitFor({ state: 'detached' });
  await choose(page, 'tags', 'a');
  await choose(page, 'tags', 'b');
  assert.match(await page.locator('[data-testid="geo-spot"]').innerText(), /^\d+\.\d{6}, \d+\.\d{6}$/);
  await page.locator('[data-testid="add-kids"]').click();
  await page.locator('[data-testid=finish]').click();
  await errorOf(page, 'kids[0].kid').filter({ hasText: '必填' }).waitFor();
  await page.locator('[data-field="kids[0].kid"] input').fill('小红');
  await page.locator('[data-testid="add-kids"]').click();
  assert.equal(await page.locator('[data-testid="add-kids"]').count(), 0, 'no more than two');
  await page.locator('[data-field="kids"] .instance').nth(1).locator('button', { hasText: '删除' }).click();
  await page.locator('[data-testid="photo-pic"]').setInputFiles({ name: 'p.jpg', mimeType: 'image/jpeg', buffer: await makeJpeg(page, { seed: 90, lat: household.location.lat, lon: household.location.lon }) });
  await page.locator('[data-field="pic"] [data-testid=photo-thumb]').waitFor();
  await shot(page, 'field-form-kinds', { fullPage: true });
  await page.locator('[data-testid=finish]').click();
  await page.locator('[data-testid=outbox-item][data-state=sent]').waitFor({ timeout: 60_000 });

  const visits = (await apiCall(world.server, coordinator, 'GET', `/visits?household_id=${household.id}&limit=50`)).items;
  const visit = visits.find((v) => v.task_id === task.id);
  const a = visit.answers;
  assert.equal(a.name, '王小明');
  assert.equal(a.count, 3);
  assert.equal(a.area, 12.5);
  assert.equal(a.agree, true);
  assert.equal(a.when, '2026-01-02');
  assert.equal(a.color, 'blue');
  assert.equal(a.why, undefined, 'an answer to a skipped question is left out');
  assert.deepEqual(a.tags, ['a', 'b']);
  assert.ok(Math.abs(a.spot.lat - household.location.lat) < 1e-6);
  assert.deepEqual(a.kids, [{ kid: '小红' }]);
  assert.equal(visit.photo_ids.length, 1);
  assert.equal(a.pic, visit.photo_ids[0]);
});
