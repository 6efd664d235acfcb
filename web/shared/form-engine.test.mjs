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

// What the phone relies on beyond the suite: the shape of the JavaScript API.

const PLAIN_FORM = {
  key: 'api', title: { zh: '接口' }, version: 1,
  fields: [
    { name: 'b', label: { zh: 'b' }, kind: 'boolean' },
    { name: 'note', label: { zh: '说明' }, kind: 'text', relevant: '${b}' },
    { name: 'members', label: { zh: '成员' }, kind: 'repeat', fields: [
      { name: 'income', label: { zh: '收入' }, kind: 'integer' },
      { name: 'half', label: { zh: '' }, kind: 'calculate', calculate: '${income} div 2' },
    ] },
    { name: 'total', label: { zh: '' }, kind: 'calculate', calculate: 'sum(${members.income})' },
    { name: 'born', label: { zh: '出生' }, kind: 'date' },
    { name: 'years', label: { zh: '' }, kind: 'calculate', calculate: 'age(${born})' },
  ],
};

test('calculated values are plain JSON, integers beyond 2^53 as BigInt', () => {
  const { form } = compileForm(PLAIN_FORM);
  const o = form.validate({ members: [{ income: 3 }, { income: 9007199254740993n }] }, { today: '2025-06-15' });
  assert.deepEqual(o.errors, []);
  assert.equal(o.calculated.total, 9007199254740996n);
  assert.equal(o.calculated.members[0].half, 1.5);
  assert.equal(o.calculatedJson(), '{"members":[{"half":1.5},{"half":4503599627370496.0}],"total":9007199254740996,"years":null}');
  assert.doesNotThrow(() => JSON.stringify(form.validate({ members: [{ income: 4 }] }, { today: '2025-06-15' }).calculated));
});

test('relevance, errors by path and the cleaned answers', () => {
  const { form } = compileForm(PLAIN_FORM);
  const answers = { b: false, note: '不再适用', members: [{ income: 'x' }] };
  const o = form.validate(answers, { today: '2025-06-15' });
  assert.equal(o.isRelevant('note'), false);
  assert.equal(o.isRelevant('members[0].income'), true);
  assert.deepEqual(o.errorsAt('members[0].income').map((e) => e.code), ['wrong_type']);
  assert.deepEqual(o.cleaned(answers), { b: false, members: [{ income: 'x' }] });
  assert.deepEqual(answers.note, '不再适用', 'the answers given are not changed');
});

test('keys holding undefined are not answers, as JSON.stringify would drop them', () => {
  const { form } = compileForm(PLAIN_FORM);
  const o = form.validate({ b: undefined, nickname: undefined }, { today: '2025-06-15' });
  assert.deepEqual(o.errors, []);
});

test("today defaults to China Standard Time's date", () => {
  const { form } = compileForm(PLAIN_FORM);
  const now = new Date(Date.now() + 8 * 3600 * 1000);
  const born = `${now.getUTCFullYear() - 30}-${String(now.getUTCMonth() + 1).padStart(2, '0')}-${String(now.getUTCDate()).padStart(2, '0')}`;
  const o = form.validate({ born: born === `${now.getUTCFullYear() - 30}-02-29` ? born.replace('-29', '-28') : born });
  assert.equal(o.calculated.years, 30);
  assert.throws(() => form.validate({}, { today: '2025-02-30' }), TypeError);
});
