// The shared modules' pure parts, in Node: Shanghai dates whatever the machine's zone, overdue words,
// error words, query strings, download names, and every enum value of the API having words.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fmtDate, fmtDateTime, overdueDays, dueWords, addDays, daysBetween } from './time.js';
import { lang, setLang, t, label, errorText, hasLabel, half } from './i18n.js';
import { qs, filenameFrom, ApiError } from './api.js';

test('UTC instants are shown on Shanghai\'s clock and calendar', () => {
  assert.equal(fmtDateTime('2026-12-06T16:30:00Z'), '2026-12-07 00:30');
  assert.equal(fmtDate('2026-12-06T15:59:59Z'), '2026-12-06');
  assert.equal(fmtDate('2026-12-06T16:00:00Z'), '2026-12-07');
  assert.equal(fmtDate('2026-03-01'), '2026-03-01', 'a plain date is shown as it is');
  assert.equal(fmtDateTime(null), '');
  assert.equal(addDays('2026-02-27', 2), '2026-03-01');
  assert.equal(daysBetween('2026-12-31', '2027-01-02'), 2);
});

test('overdue is counted in Shanghai days', () => {
  // 01:00 in Shanghai on the 7th is still the 6th in UTC.
  const now = new Date('2026-12-06T17:00:00Z');
  assert.equal(overdueDays('2026-12-04', now), 3);
  assert.equal(overdueDays('2026-12-07', now), 0);
  setLang('zh');
  assert.equal(dueWords('2026-12-04', now), '逾期 3 天');
  assert.equal(dueWords('2026-12-07', now), '今天到期');
  assert.equal(dueWords('2026-12-09', now), '还剩 2 天');
  setLang('en');
  assert.equal(dueWords('2026-12-06', now), 'overdue by 1 day');
  setLang('zh');
});

test('words switch with the language', () => {
  setLang('en');
  assert.equal(t('中', 'en'), 'en');
  assert.equal(label('task_state', 'assigned'), 'Assigned');
  assert.equal(half('未找到 / not found'), 'not found');
  setLang('zh');
  assert.equal(lang.value, 'zh');
  assert.equal(label('task_state', 'assigned'), '已分派');
  assert.equal(label('task_state', 'something_new'), 'something_new', 'an unknown value shows as it is');
  assert.equal(half('未找到 / not found'), '未找到');
});

test('errors are put in words, with when to try again', () => {
  setLang('zh');
  const locked = new ApiError(423, 'account_locked', '登录失败次数过多 / too many failures', { retryAfter: 1800 });
  assert.equal(errorText(locked), '登录失败次数过多，账号已临时锁定（请在 30 分钟后再试）');
  const limited = new ApiError(429, 'rate_limited', '请求过多 / too many', { retryAfter: 20 });
  assert.match(errorText(limited), /操作太频繁（请在 20 秒后再试）/);
  const invalid = new ApiError(422, 'validation_failed', '原因不能为空 / the reason is empty');
  assert.equal(errorText(invalid), '填写内容有误：原因不能为空');
  const unknown = new ApiError(418, 'brand_new_code', '新错误 / a new error');
  assert.equal(errorText(unknown), '新错误');
});

test('query strings leave out empty values; download names come from Content-Disposition', () => {
  assert.equal(qs({ a: 1, b: null, c: '', d: undefined, e: ['x', 'y'], f: false }), '?a=1&e=x%2Cy&f=false');
  assert.equal(qs({}), '');
  assert.equal(filenameFrom('attachment; filename="households-20261207.csv"'), 'households-20261207.csv');
  assert.equal(filenameFrom("attachment; filename=\"x.csv\"; filename*=UTF-8''%E4%BD%8F%E6%88%B7.csv"), '住户.csv');
  assert.equal(filenameFrom(null), null);
});

test('every enum value and error code of the API has Chinese and English words', () => {
  const api = JSON.parse(readFileSync(new URL('../../proto/openapi.json', import.meta.url), 'utf8'));
  const schemas = api.components.schemas;
  const kinds = {
    ErrorCode: 'error', Role: 'role', TaskState: 'task_state', TaskKind: 'task_kind', ApplicationState: 'application_state', Action: 'action',
    AssistanceStatus: 'household_status', FindingState: 'finding_state', FindingSource: 'finding_source', FlagCode: 'flag',
    ReviewState: 'review_state', ReviewDecision: 'review_decision', Category: 'category', CategoryStatus: 'category_status',
    Department: 'department', DepartmentSource: 'department_source', OrgKind: 'org_kind', JobState: 'job_state', Gender: 'gender',
    Relation: 'relation', Health: 'health', DisabilityType: 'disability_type', WorkStatus: 'work_status', StudentStatus: 'student_status',
    SelfReportStatus: 'self_report_status', FieldKind: 'field_kind', Crs: 'crs',
  };
  const missing = [];
  for (const [schema, kind] of Object.entries(kinds)) {
    const values = schemas[schema]?.enum ?? schemas[schema]?.oneOf?.flatMap((x) => x.enum ?? []) ?? [];
    assert.ok(values.length, `${schema} is in the API document`);
    for (const v of values) if (!hasLabel(kind, v)) missing.push(`${schema}.${v}`);
  }
  assert.deepEqual(missing, [], 'enum values without words');
});
