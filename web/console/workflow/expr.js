// The form engine's expression language (proto/src/form/expr.rs), read-only: enough to decide
// which fields of a stored visit were relevant, so a reviewer sees the questions that applied
// and not the ones skipped. Empty follows the engine: '' / null / [] are empty, empty in a
// boolean place is false, arithmetic with an empty side is empty. Anything this reader cannot
// evaluate throws, and the caller falls back to "shown when answered".

const KEYWORDS = new Set(['and', 'or', 'div', 'mod', 'true', 'false']);

function tokenize(src) {
  const out = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === '$' && src[i + 1] === '{') {
      const end = src.indexOf('}', i);
      if (end < 0) throw new Error('unclosed reference');
      out.push({ t: 'ref', v: src.slice(i + 2, end).split('.') });
      i = end + 1;
      continue;
    }
    if (c === "'" || c === '"') {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw new Error('unclosed string');
      out.push({ t: 'str', v: src.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    const num = /^[0-9]+(\.[0-9]+)?/.exec(src.slice(i));
    if (num) {
      out.push({ t: 'num', v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const word = /^[a-z_][a-z0-9_]*/.exec(src.slice(i));
    if (word) {
      out.push({ t: KEYWORDS.has(word[0]) ? word[0] : 'name', v: word[0] });
      i += word[0].length;
      continue;
    }
    const op = /^(<=|>=|!=|=|<|>|\+|-|\*|\(|\)|,|\.)/.exec(src.slice(i));
    if (!op) throw new Error(`unexpected ${c}`);
    out.push({ t: op[0] });
    i += op[0].length;
  }
  return out;
}

function parse(src) {
  const toks = tokenize(src);
  let p = 0;
  const peek = () => toks[p]?.t;
  const eat = (t) => {
    if (toks[p]?.t !== t) throw new Error(`expected ${t}`);
    return toks[p++];
  };
  const list = (next, ops, kind) => {
    const first = next();
    const rest = [];
    while (ops.includes(peek())) rest.push([toks[p++].t, next()]);
    return rest.length ? { k: kind, first, rest } : first;
  };
  const or = () => list(and, ['or'], 'or');
  const and = () => list(cmp, ['and'], 'and');
  const cmp = () => {
    const a = sum();
    if (['=', '!=', '<', '<=', '>', '>='].includes(peek())) {
      const op = toks[p++].t;
      return { k: 'cmp', op, a, b: sum() };
    }
    return a;
  };
  const sum = () => list(product, ['+', '-'], 'arith');
  const product = () => list(unary, ['*', 'div', 'mod'], 'arith');
  const unary = () => (peek() === '-' ? (p++, { k: 'neg', e: unary() }) : primary());
  const primary = () => {
    const tok = toks[p++];
    if (!tok) throw new Error('unexpected end');
    switch (tok.t) {
      case 'num': return { k: 'lit', v: tok.v };
      case 'str': return { k: 'lit', v: tok.v };
      case 'true': return { k: 'lit', v: true };
      case 'false': return { k: 'lit', v: false };
      case 'ref': return { k: 'ref', path: tok.v };
      case '.': return { k: 'current' };
      case '(': { const e = or(); eat(')'); return e; }
      case 'name': {
        eat('(');
        const args = [];
        if (peek() !== ')') {
          args.push(or());
          while (peek() === ',') { p++; args.push(or()); }
        }
        eat(')');
        return { k: 'call', f: tok.v, args };
      }
      default: throw new Error(`unexpected ${tok.t}`);
    }
  };
  const e = or();
  if (p !== toks.length) throw new Error('trailing tokens');
  return e;
}

// Text compares by Unicode code point, as the engine does (not by UTF-16 unit).
function byCodePoint(a, b) {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d) return d;
  }
  return x.length - y.length;
}

const empty = (v) => v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);
const truthy = (v) => !empty(v) && v !== false;

let fixedToday = null;

/** Fixes what `today()` and `age()` see (the conformance cases give their own date). */
export function setToday(date) {
  fixedToday = date;
}

function shanghaiToday() {
  return fixedToday ?? new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
}

// `scopes`: the answer objects from the innermost repeat instance out to the form's top level.
function evaluate(node, scopes, position) {
  const ev = (n) => evaluate(n, scopes, position);
  switch (node.k) {
    case 'lit': return node.v;
    case 'current': throw new Error('no current value');
    case 'ref': return lookup(node.path, scopes);
    case 'neg': { const v = ev(node.e); return empty(v) ? null : -v; }
    case 'arith': {
      let acc = ev(node.first);
      for (const [op, n] of node.rest) {
        const b = ev(n);
        if (empty(acc) || empty(b)) return null;
        acc = op === '+' ? acc + b : op === '-' ? acc - b : op === '*' ? acc * b
          : op === 'div' ? acc / b : acc % b;
      }
      return acc;
    }
    case 'cmp': {
      const a = ev(node.a);
      const b = ev(node.b);
      const eq = () => {
        if (empty(a) || empty(b)) return empty(a) && empty(b);
        if (Array.isArray(a) && Array.isArray(b)) {
          return a.length === b.length && a.every((x) => b.includes(x));
        }
        return a === b;
      };
      switch (node.op) {
        case '=': return eq();
        case '!=': return !eq();
        default: {
          if (empty(a) || empty(b)) return false;
          const c = typeof a === 'string' && typeof b === 'string' ? byCodePoint(a, b) : a < b ? -1 : a > b ? 1 : 0;
          return node.op === '<' ? c < 0 : node.op === '<=' ? c <= 0 : node.op === '>' ? c > 0 : c >= 0;
        }
      }
    }
    case 'and': return [node.first, ...node.rest.map((r) => r[1])].every((n) => truthy(ev(n)));
    case 'or': return [node.first, ...node.rest.map((r) => r[1])].some((n) => truthy(ev(n)));
    case 'call': return call(node, scopes, position, ev);
    default: throw new Error('unknown node');
  }
}

function call(node, scopes, position, ev) {
  const a = node.args;
  const values = () => {
    const v = ev(a[0]);
    return (Array.isArray(v) ? v : [v]).filter((x) => !empty(x));
  };
  switch (node.f) {
    case 'if': return truthy(ev(a[0])) ? ev(a[1]) : ev(a[2]);
    case 'not': return !truthy(ev(a[0]));
    case 'coalesce': { const v = ev(a[0]); return empty(v) ? ev(a[1]) : v; }
    case 'selected': {
      const v = ev(a[0]);
      const c = ev(a[1]);
      return Array.isArray(v) ? v.includes(c) : v === c;
    }
    case 'count_selected': { const v = ev(a[0]); return empty(v) ? 0 : Array.isArray(v) ? v.length : 1; }
    case 'count': { const v = ev(a[0]); return Array.isArray(v) ? v.length : 0; }
    case 'sum': return values().reduce((s, x) => s + x, 0);
    case 'min': { const v = values(); return v.length ? Math.min(...v) : null; }
    case 'max': { const v = values(); return v.length ? Math.max(...v) : null; }
    case 'position': return position;
    case 'today': return shanghaiToday();
    case 'date': return ev(a[0]);
    case 'age': {
      const d = ev(a[0]);
      if (empty(d)) return null;
      const t = shanghaiToday();
      let years = Number(t.slice(0, 4)) - Number(d.slice(0, 4));
      if (t.slice(5) < d.slice(5)) years -= 1;
      return years;
    }
    case 'string_length': { const v = ev(a[0]); return empty(v) ? 0 : [...String(v)].length; }
    case 'int': { const v = ev(a[0]); return empty(v) ? null : Math.trunc(v); }
    case 'round': {
      const v = ev(a[0]);
      if (empty(v)) return null;
      const f = 10 ** ev(a[1]);
      return Math.sign(v) * Math.round(Math.abs(v) * f) / f;
    }
    default: throw new Error(`unknown function ${node.f}`);
  }
}

// A name is looked up from the innermost level outwards; a dotted path steps into repeats and
// stands for the values of every instance.
function lookup(path, scopes) {
  for (const scope of scopes) {
    if (scope && Object.prototype.hasOwnProperty.call(scope, path[0])) {
      let values = [scope[path[0]]];
      for (const step of path.slice(1)) {
        values = values.flatMap((v) => (Array.isArray(v) ? v : [v]))
          .map((inst) => (inst && typeof inst === 'object' ? inst[step] : null));
      }
      return path.length === 1 ? values[0]
        : values.flatMap((v) => (Array.isArray(v) ? v : [v])).filter((v) => v !== null && v !== undefined);
    }
  }
  return null;
}

const cache = new Map();

function tree(src) {
  let t = cache.get(src);
  if (!t) {
    t = parse(src);
    cache.set(src, t);
  }
  return t;
}

/** The value of a `calculate` expression for these answers (innermost scope first). */
export function calculate(src, scopes, position = 1) {
  const v = evaluate(tree(src), scopes, position);
  return empty(v) || Number.isNaN(v) || v === Infinity || v === -Infinity ? null : v;
}

/** Whether a field with this `relevant` applies, given the answers in `scopes` (innermost
 * first). Throws when the expression is beyond this reader. */
export function isRelevant(relevant, scopes, position = 1) {
  if (!relevant) return true;
  return truthy(evaluate(tree(relevant), scopes, position));
}

export const _test = { parse, tokenize };
