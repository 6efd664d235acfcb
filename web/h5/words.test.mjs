// What a citizen reads: every state the API can send has plain words (no internal code shows), the
// server's field errors name the form's field, and a photo is shrunk to the limit, never enlarged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { reportStatus, applicationState, categoryStatus, needWords, say, NEEDS } from './words.js';
import { fitted, MAX_SIDE } from './photo.js';

const spec = JSON.parse(readFileSync(new URL('../../proto/openapi.json', import.meta.url), 'utf8'));
const values = (name) => spec.components.schemas[name].enum ?? spec.components.schemas[name].oneOf?.flatMap((o) => o.enum ?? []);

test('every state in the API contract has Chinese words and a next step', () => {
  for (const [schema, words] of [['SelfReportStatus', reportStatus], ['ApplicationState', applicationState]]) {
    const all = values(schema);
    assert.ok(all?.length, `${schema} has values`);
    for (const v of all) {
      const w = words(v);
      assert.match(w.title, /\p{Script=Han}/u, `${schema} ${v}`);
      assert.match(w.next, /\p{Script=Han}/u, `${schema} ${v} says what happens next`);
      assert.ok(!w.title.includes(v) && !w.next.includes(v), `${schema} ${v}: no code in the words`);
    }
  }
  for (const v of values('CategoryStatus')) assert.match(categoryStatus(v), /\p{Script=Han}/u, v);
  for (const v of values('Category')) assert.match(needWords(v), /\p{Script=Han}/u, v);
  for (const [c] of NEEDS) assert.ok(values('Category').includes(c), `${c} is a category the API knows`);
});

test('field errors name the field in the form\'s words', () => {
  const text = say({
    code: 'validation_failed',
    details: [
      { field: 'description', code: 'required', message: '不能为空 / must not be empty' },
      { field: 'contact_phone', code: 'invalid_phone', message: '请填写11位手机号码 / an 11-digit mainland mobile number is needed' },
    ],
  });
  assert.equal(text, '情况说明：不能为空；联系电话：请填写11位手机号码');
  assert.equal(say({ code: 'verification_failed', message: 'x / y', details: [] }), '验证码错误或已过期，请检查后重试，或重新获取验证码');
  assert.match(say({ code: 'rate_limited', message: '', details: [], retryAfter: 120 }), /2 分钟/);
});

test('photos are shrunk to the limit on their longer side and never enlarged', () => {
  assert.deepEqual(fitted(4000, 3000), { width: MAX_SIDE, height: 1200 });
  assert.deepEqual(fitted(3000, 4000), { width: 1200, height: MAX_SIDE });
  assert.deepEqual(fitted(800, 600), { width: 800, height: 600 });
  assert.equal(MAX_SIDE, 1600);
});
