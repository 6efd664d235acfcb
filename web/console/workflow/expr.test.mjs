// The visit review's reader of the form language (expr.js, answers.js) against the form engine's
// conformance suite (fixtures/forms/conformance): for every case whose answers are valid, the
// relevance of every field with a `relevant` expression and every top-level calculation must be
// what the Rust engine gives. Cases with validation errors are the full engine's business, not a
// reviewer's screen, and are left out; so are integers beyond 2^53 (JSON.parse cannot hold them).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withCalculations } from './answers.js';
import { isRelevant, setToday } from './expr.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'forms', 'conformance');
const HUGE = /[0-9]{16,}/;

function observe(form, answers) {
  const relevant = {};
  const calculated = {};
  const walk = (fields, level0, outer, position, prefix, top) => {
    const level = withCalculations(fields, level0, outer, position);
    const scopes = [level, ...outer];
    for (const f of fields) {
      let r = true;
      if (f.relevant) {
        r = isRelevant(f.relevant, scopes, position);
        relevant[prefix + f.name] = r;
      }
      if (top && f.kind === 'calculate') calculated[f.name] = r ? (level[f.name] ?? null) : null;
      if (f.kind === 'repeat' && r && Array.isArray(level[f.name])) {
        level[f.name].forEach((inst, i) => walk(f.fields ?? [], inst, scopes, i + 1, `${prefix}${f.name}[${i}].`, false));
      }
    }
  };
  walk(form.fields, answers ?? {}, [], 1, '', true);
  return { relevant, calculated };
}

const round = (v) => (typeof v === 'number' ? Number(v.toPrecision(12)) : v);

for (const file of readdirSync(DIR).filter((f) => f.endsWith('.json'))) {
  const suite = JSON.parse(readFileSync(join(DIR, file), 'utf8'));
  const cases = suite.cases.filter((c) => c.expect && !(c.expect.errors ?? []).length && !HUGE.test(JSON.stringify(c.answers ?? {})));
  const scalar = (want) => !(Array.isArray(want) || (want && typeof want === 'object')) && !(typeof want === 'string' && HUGE.test(want));
  const checks = cases.reduce((n, c) => n + Object.keys(c.expect.relevant ?? {}).length
    + Object.values(c.expect.calculated ?? {}).filter(scalar).length, 0);
  if (!checks) continue;
  test(`conformance ${file}: relevance and calculations of valid answers`, () => {
    let checked = 0;
    for (const c of cases) {
      const form = typeof c.form === 'string' ? suite.forms[c.form] : c.form;
      setToday(c.today);
      const seen = observe(form, c.answers);
      for (const [path, want] of Object.entries(c.expect.relevant ?? {})) {
        assert.equal(seen.relevant[path], want, `${c.id}: relevant ${path}`);
        checked++;
      }
      for (const [name, want] of Object.entries(c.expect.calculated ?? {})) {
        if (!scalar(want)) continue; // per-instance shapes are the full engine's
        assert.deepEqual(round(seen.calculated[name] ?? null), round(want), `${c.id}: calculated ${name}`);
        checked++;
      }
    }
    setToday(null);
    assert.equal(checked, checks);
  });
}
