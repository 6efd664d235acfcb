// Runs the form engine's conformance suite (fixtures/forms/conformance, format in its README) on the
// JavaScript engine. The Rust engine runs the same files (proto/tests/conformance.rs).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';

import { compileForm } from './form-engine.js';

const SUITE = new URL('../../fixtures/forms/conformance/', import.meta.url);

/** A number as written in JSON: its kind (integer or decimal) and value. */
class Num {
  constructor(text) {
    this.int = /^-?\d+$/.test(text);
    this.value = this.int ? BigInt(text) : Number(text);
  }
}

/** JSON.parse that keeps each number's kind, as serde_json does (`1000.0` is not `1000`). */
function parseTyped(text) {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i += 1;
  };
  const value = () => {
    ws();
    const c = text[i];
    if (c === '{') {
      i += 1;
      const out = {};
      ws();
      if (text[i] === '}') {
        i += 1;
        return out;
      }
      for (;;) {
        ws();
        const key = string();
        ws();
        if (text[i] !== ':') throw new SyntaxError(`expected ':' at ${i}`);
        i += 1;
        Object.defineProperty(out, key, { value: value(), enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ',') i += 1;
        else if (text[i] === '}') {
          i += 1;
          return out;
        } else throw new SyntaxError(`expected ',' or '}' at ${i}`);
      }
    }
    if (c === '[') {
      i += 1;
      const out = [];
      ws();
      if (text[i] === ']') {
        i += 1;
        return out;
      }
      for (;;) {
        out.push(value());
        ws();
        if (text[i] === ',') i += 1;
        else if (text[i] === ']') {
          i += 1;
          return out;
        } else throw new SyntaxError(`expected ',' or ']' at ${i}`);
      }
    }
    if (c === '"') return string();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) throw new SyntaxError(`unexpected ${c} at ${i}`);
    i += m[0].length;
    return new Num(m[0]);
  };
  const string = () => {
    const start = i;
    i += 1;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i += 1;
    return JSON.parse(text.slice(start, i));
  };
  const v = value();
  ws();
  if (i !== text.length) throw new SyntaxError(`trailing text at ${i}`);
  return v;
}

/** Typed JSON as plain JavaScript values, as a phone would hold them (BigInt beyond 2^53). */
function plain(v) {
  if (v instanceof Num) {
    if (!v.int) return v.value;
    return v.value >= -(2n ** 53n) + 1n && v.value <= 2n ** 53n - 1n ? Number(v.value) : v.value;
  }
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v)) Object.defineProperty(out, k, { value: plain(v[k]), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}

/** Typed JSON in a form assert.deepStrictEqual compares kind by kind. */
function shape(v) {
  if (v instanceof Num) return v.int ? { int: v.value.toString() } : { dec: Object.is(v.value, -0) ? '-0' : String(v.value) };
  if (Array.isArray(v)) return v.map(shape);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, shape(v[k])]));
  return v;
}

function errorsMatch(got, want) {
  return got.length === want.length && got.every((g, i) => g.field === want[i].field && g.code === want[i].code
    && (want[i].message === undefined || g.message === want[i].message));
}

function runCase(c, forms) {
  const definition = plain(typeof c.form === 'string' ? forms[c.form] : c.form);
  assert.ok(definition, `no form ${c.form}`);
  const { form, errors } = compileForm(definition);
  if (c.check_errors !== undefined) {
    assert.equal(form, null, 'the form checks, but check errors are expected');
    assert.ok(errorsMatch(errors, c.check_errors), `check errors differ\n  expected: ${JSON.stringify(c.check_errors)}\n  got:      ${JSON.stringify(errors)}`);
    return;
  }
  assert.deepEqual(errors, [], 'the form is refused');
  const outcome = form.validate(plain(c.answers), { today: c.today });
  const want = c.expect;
  assert.ok(errorsMatch(outcome.errors, want.errors), `errors differ\n  expected: ${JSON.stringify(want.errors)}\n  got:      ${JSON.stringify(outcome.errors)}`);
  if (want.calculated !== undefined) {
    assert.deepStrictEqual(shape(parseTyped(outcome.calculatedJson())), shape(want.calculated), 'calculated differ');
  }
  assert.deepStrictEqual(outcome.dropped, want.dropped ?? [], 'dropped differ');
  if (want.relevant !== undefined) assert.deepStrictEqual(outcome.relevant, want.relevant, 'relevance differs');
}

const files = readdirSync(SUITE).filter((f) => f.endsWith('.json')).sort();
let total = 0;

for (const file of files) {
  const doc = parseTyped(readFileSync(new URL(file, SUITE), 'utf8'));
  const cases = doc.cases ?? [];
  total += cases.length;
  test(file, async (t) => {
    for (const c of cases) {
      await t.test(`${file} / ${c.id}`, () => runCase(c, doc.forms ?? {}));
    }
  });
}

test('the suite has at least 300 cases', () => {
  assert.ok(total >= 300, `${total} cases`);
});
