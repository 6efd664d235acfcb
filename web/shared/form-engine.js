// The form engine on the phone: the same definitions, expression language and validation as the
// Rust engine in proto/src/form (whose expr.rs documents the language), so a visit that passes here
// passes on the server, with the same error paths, codes and messages. The two are held together by
// the conformance suite in fixtures/forms/conformance, which both run; change them together.
//
//   const { form, errors } = compileForm(definition);         // errors: the definition's problems
//   const outcome = form.validate(answers, { today: '2025-06-15' });
//   outcome.errors / .calculated / .dropped / .relevant / .isRelevant(path) / .cleaned(answers)
//
// Validating the standard home-visit form takes well under a millisecond, so a form screen can
// validate the whole answer set on every change and show relevance, calculations and messages live.
//
// Values while evaluating: null is empty, booleans, BigInt for integers (64-bit, overflow is an
// error), numbers for decimals, strings for text, DateValue, arrays for select_multiple answers,
// and OPAQUE for a geopoint or photo (only its presence matters). Answers are plain JSON values; an
// integer beyond 2^53 may be given as a BigInt, and a number that is not a safe integer is read as a
// decimal.

export const MAX_FIELDS = 2000;
export const MAX_REPEAT_DEPTH = 3;
export const MAX_CHOICES = 1000;
export const MAX_PATTERN_BYTES = 1024;
export const MAX_INSTANCES = 1000;
export const MAX_TOTAL_INSTANCES = 10000;
export const MAX_ANSWER_CELLS = 200000;
export const MAX_ERRORS = 1000;
export const MAX_NAME_LEN = 64;
export const MAX_EXPR_BYTES = 4096;
export const MAX_EXPR_DEPTH = 64;
const EVAL_BUDGET = 5000000;

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const OPAQUE = Symbol('geopoint or photo');
const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function fieldError(field, code, message) {
  return { field, code, message };
}

function tooManyErrors(more) {
  return fieldError('', 'too_many_errors', `错误过多 / ${more} more errors not shown`);
}

// ---------------------------------------------------------------------------------------------
// Text helpers: Rust counts and orders text by characters (code points), not UTF-16 units.

const chars = (s) => Array.from(s);
const charCount = (s) => {
  let n = 0;
  for (const _ of s) n += 1;
  return n;
};
const utf8Len = (s) => new TextEncoder().encode(s).length;

function compareText(a, b) {
  const x = chars(a);
  const y = chars(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i += 1) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
}

const byCodePoint = (keys) => [...keys].sort(compareText);

function clip(s) {
  const c = chars(s);
  return c.length > 40 ? `${c.slice(0, 40).join('')}…` : s;
}

const WHITE = /^\p{White_Space}*$/u;
const isBlank = (s) => WHITE.test(s ?? '');

function labelBlank(label) {
  return !label || (isBlank(label.zh) && isBlank(label.en));
}

function labelBoth(label) {
  const zh = label?.zh ?? '';
  const en = label?.en ?? '';
  if (zh !== '' && en !== '') return `${zh} / ${en}`;
  return zh !== '' ? zh : en;
}

/** A number as Rust's `f64` Display writes it: no exponent, shortest digits. */
function rustFloat(n) {
  if (Object.is(n, -0)) return '-0';
  const s = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, lead, rest = '', exp] = m;
  const digits = lead + rest;
  const e = Number(exp);
  if (e >= 0) {
    return sign + (e + 1 >= digits.length ? digits + '0'.repeat(e + 1 - digits.length) : `${digits.slice(0, e + 1)}.${digits.slice(e + 1)}`);
  }
  return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
}

// ---------------------------------------------------------------------------------------------
// Dates: strict YYYY-MM-DD on the proleptic Gregorian calendar.

export class DateValue {
  constructor(y, m, d) {
    this.y = y;
    this.m = m;
    this.d = d;
    this.key = y * 10000 + m * 100 + d;
  }

  toString() {
    return `${String(this.y).padStart(4, '0')}-${String(this.m).padStart(2, '0')}-${String(this.d).padStart(2, '0')}`;
  }
}

const leap = (y) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const monthDays = (y, m) => [31, leap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];

export function parseDate(s) {
  if (typeof s !== 'string' || !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(s)) return null;
  const y = Number(s.slice(0, 4));
  const m = Number(s.slice(5, 7));
  const d = Number(s.slice(8, 10));
  if (m < 1 || m > 12 || d < 1 || d > monthDays(y, m)) return null;
  return new DateValue(y, m, d);
}

function fullYears(born, on) {
  let years = on.y - born.y;
  if (on.m * 100 + on.d < born.m * 100 + born.d) years -= 1;
  return BigInt(years);
}

/** Today in China Standard Time (UTC+8, no daylight saving), whatever the phone's zone. */
export function chinaToday(now = Date.now()) {
  const d = new Date(now + 8 * 3600 * 1000);
  return new DateValue(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
}

// ---------------------------------------------------------------------------------------------
// The expression language: lexer and parser (a port of expr.rs).

const FUNCS = {
  if: [3, 3], not: [1, 1], coalesce: [2, 2], selected: [2, 2], count_selected: [1, 1], count: [1, 1],
  sum: [1, 1], min: [1, 1], max: [1, 1], position: [0, 0], today: [0, 0], date: [1, 1], age: [1, 1],
  string_length: [1, 1], int: [1, 1], round: [2, 2],
};
const KEYWORDS = ['and', 'or', 'div', 'mod', 'true', 'false'];

class ParseError extends Error {
  constructor(column, message, code = 'syntax_error') {
    super(message);
    this.column = column;
    this.code = code;
  }

  toString() {
    return `column ${this.column}: ${this.message}`;
  }
}

const syntax = (column, message) => new ParseError(column, message);
const isNameStart = (c) => (c >= 'a' && c <= 'z') || c === '_';
const isNameChar = (c) => isNameStart(c) || (c >= '0' && c <= '9');
const isDigit = (c) => c !== undefined && c >= '0' && c <= '9';
const isAsciiAlpha = (c) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const ALNUM = /^[\p{Alphabetic}\p{Nd}\p{Nl}\p{No}]$/u;

export function isName(s) {
  const c = chars(s);
  return c.length > 0 && isNameStart(c[0]) && c.every(isNameChar);
}

function describeTok(t) {
  switch (t.k) {
    case 'int': return `number ${t.v}`;
    case 'dec': return `number ${rustFloat(t.v)}`;
    case 'str': return `string '${t.v}'`;
    case 'ref': return `\${${t.v.join('.')}}`;
    case 'dot': return "'.'";
    case 'word': return `'${t.v}'`;
    case 'end': return 'the end of the expression';
    default: return `'${t.v}'`;
  }
}

function lex(src) {
  const cs = chars(src);
  const tokens = [];
  let i = 0;
  while (i < cs.length) {
    const c = cs[i];
    const column = i + 1;
    const next = cs[i + 1];
    const push = (tok, len) => {
      tokens.push({ ...tok, column });
      i += len;
    };
    switch (c) {
      case ' ': case '\t': case '\n': case '\r': i += 1; continue;
      case '(': push({ k: 'lparen', v: '(' }, 1); continue;
      case ')': push({ k: 'rparen', v: ')' }, 1); continue;
      case ',': push({ k: 'comma', v: ',' }, 1); continue;
      case '+': push({ k: 'plus', v: '+' }, 1); continue;
      case '-': push({ k: 'minus', v: '-' }, 1); continue;
      case '*': push({ k: 'star', v: '*' }, 1); continue;
      case '=':
        if (next === '=') throw syntax(column, "'==' is not an operator; equality is '='");
        push({ k: 'cmp', v: '=' }, 1);
        continue;
      case '!':
        if (next === '=') {
          push({ k: 'cmp', v: '!=' }, 2);
          continue;
        }
        throw syntax(column, "'!' is not an operator; use not(…) or '!='");
      case '<': case '>':
        if (next === '=') push({ k: 'cmp', v: `${c}=` }, 2);
        else push({ k: 'cmp', v: c }, 1);
        continue;
      case '/': throw syntax(column, "'/' is not an operator; division is 'div'");
      case '%': throw syntax(column, "'%' is not an operator; remainder is 'mod'");
      case '&': case '|': throw syntax(column, "use 'and' / 'or'");
      case '.':
        if (isDigit(next)) throw syntax(column, 'a number starts with a digit: write 0.5');
        push({ k: 'dot', v: '.' }, 1);
        continue;
      case "'": case '"': {
        const close = cs.indexOf(c, i + 1);
        if (close < 0) throw syntax(column, 'string is not closed');
        push({ k: 'str', v: cs.slice(i + 1, close).join('') }, close - i + 1);
        continue;
      }
      case '$': {
        if (next !== '{') throw syntax(column, 'a reference is written ${name}');
        const close = cs.indexOf('}', i + 2);
        if (close < 0) throw syntax(column, "reference is not closed with '}'");
        const inner = cs.slice(i + 2, close).join('');
        const path = inner.split('.');
        const bad = path.find((p) => !isName(p));
        if (bad !== undefined) {
          throw syntax(column, `'${bad}' in \${${inner}} is not a field name ([a-z_][a-z0-9_]*, steps separated by '.')`);
        }
        push({ k: 'ref', v: path }, close - i + 1);
        continue;
      }
      default:
        break;
    }
    if (isDigit(c)) {
      let end = i;
      while (isDigit(cs[end])) end += 1;
      let decimal = false;
      if (cs[end] === '.') {
        if (!isDigit(cs[end + 1])) throw syntax(end + 1, 'a digit must follow the decimal point');
        decimal = true;
        end += 1;
        while (isDigit(cs[end])) end += 1;
      }
      if (cs[end] !== undefined && (cs[end] === '_' || ALNUM.test(cs[end]))) {
        throw syntax(end + 1, 'a number must not run into a name');
      }
      const text = cs.slice(i, end).join('');
      if (decimal) {
        const d = Number(text);
        if (!Number.isFinite(d)) throw syntax(column, `number ${text} is too large`);
        push({ k: 'dec', v: d }, end - i);
      } else {
        const n = BigInt(text);
        if (n > I64_MAX) throw syntax(column, `integer ${text} does not fit in 64 bits`);
        push({ k: 'int', v: n }, end - i);
      }
      continue;
    }
    if (isAsciiAlpha(c) || c === '_') {
      let end = i;
      while (cs[end] !== undefined && (isAsciiAlpha(cs[end]) || isDigit(cs[end]) || cs[end] === '_')) end += 1;
      push({ k: 'word', v: cs.slice(i, end).join('') }, end - i);
      continue;
    }
    throw syntax(column, `unexpected character '${c}'`);
  }
  tokens.push({ k: 'end', column: cs.length + 1 });
  return tokens;
}

class Parser {
  constructor(tokens) {
    this.tokens = tokens;
    this.pos = 0;
    this.depth = 0;
  }

  peek() {
    return this.tokens[this.pos] ?? { k: 'end' };
  }

  column() {
    return (this.tokens[this.pos] ?? this.tokens[this.tokens.length - 1])?.column ?? 1;
  }

  advance() {
    const t = this.peek();
    if (this.pos < this.tokens.length) this.pos += 1;
    return t;
  }

  isWord(w) {
    const t = this.peek();
    return t.k === 'word' && t.v === w;
  }

  unexpected(wanted) {
    return syntax(this.column(), `expected ${wanted}, found ${describeTok(this.peek())}`);
  }

  enter() {
    this.depth += 1;
    if (this.depth > MAX_EXPR_DEPTH) {
      throw new ParseError(this.column(), `表达式嵌套过深 / expression nests deeper than ${MAX_EXPR_DEPTH} levels`, 'expression_too_deep');
    }
  }

  leave() {
    this.depth = Math.max(0, this.depth - 1);
  }

  expr() {
    this.enter();
    const e = this.or();
    this.leave();
    return e;
  }

  or() {
    const first = this.and();
    if (!this.isWord('or')) return first;
    const items = [first];
    while (this.isWord('or')) {
      this.advance();
      items.push(this.and());
    }
    return { t: 'or', items };
  }

  and() {
    const first = this.comparison();
    if (!this.isWord('and')) return first;
    const items = [first];
    while (this.isWord('and')) {
      this.advance();
      items.push(this.comparison());
    }
    return { t: 'and', items };
  }

  comparison() {
    const left = this.sum();
    const t = this.peek();
    if (t.k !== 'cmp') return left;
    this.advance();
    const right = this.sum();
    if (this.peek().k === 'cmp') throw syntax(this.column(), 'comparisons do not chain: write a < b and b < c');
    return { t: 'cmp', op: t.v, a: left, b: right };
  }

  chain(next, ops) {
    const first = next();
    const rest = [];
    for (;;) {
      const op = ops(this.peek());
      if (!op) break;
      this.advance();
      rest.push([op, next()]);
    }
    return rest.length === 0 ? first : { t: 'arith', first, rest };
  }

  sum() {
    return this.chain(() => this.product(), (t) => (t.k === 'plus' ? '+' : t.k === 'minus' ? '-' : null));
  }

  product() {
    return this.chain(
      () => this.unary(),
      (t) => (t.k === 'star' ? '*' : t.k === 'word' && (t.v === 'div' || t.v === 'mod') ? t.v : null),
    );
  }

  unary() {
    if (this.peek().k !== 'minus') return this.primary();
    this.advance();
    this.enter();
    const inner = this.unary();
    this.leave();
    if (inner.t === 'lit' && typeof inner.v === 'bigint') {
      // wrapping_neg: only i64::MIN maps to itself, and no literal can be i64::MIN.
      const n = -inner.v;
      return { t: 'lit', v: n > I64_MAX ? I64_MIN : n };
    }
    if (inner.t === 'lit' && typeof inner.v === 'number') return { t: 'lit', v: -inner.v };
    return { t: 'neg', e: inner };
  }

  primary() {
    const column = this.column();
    const t = this.peek();
    switch (t.k) {
      case 'int': case 'dec':
        this.advance();
        return { t: 'lit', v: t.v };
      case 'str':
        this.advance();
        return { t: 'lit', v: t.v === '' ? null : t.v };
      case 'ref':
        this.advance();
        return { t: 'ref', path: t.v, column, target: [] };
      case 'dot':
        this.advance();
        return { t: 'current' };
      case 'lparen': {
        this.advance();
        const inner = this.expr();
        if (this.peek().k !== 'rparen') throw this.unexpected("')'");
        this.advance();
        return inner;
      }
      case 'word': {
        const w = t.v;
        if (w === 'true' || w === 'false') {
          this.advance();
          if (this.peek().k === 'lparen') throw syntax(column, `write ${w} without parentheses`);
          return { t: 'lit', v: w === 'true' };
        }
        if (KEYWORDS.includes(w)) throw syntax(column, `expected a value, found '${w}'`);
        this.advance();
        const after = this.tokens[this.pos + 1];
        if (this.peek().k === 'minus' && after?.k === 'word' && hasOwn(FUNCS, `${w}_${after.v}`)) {
          throw syntax(column, `write ${w}_${after.v}(…) with an underscore`);
        }
        if (this.peek().k !== 'lparen') throw syntax(column, `unknown name '${w}': fields are referred to as \${${w}}`);
        if (!hasOwn(FUNCS, w)) throw syntax(column, `unknown function '${w}'`);
        this.advance();
        const args = [];
        if (this.peek().k !== 'rparen') {
          for (;;) {
            args.push(this.expr());
            const p = this.peek();
            if (p.k === 'comma') this.advance();
            else if (p.k === 'rparen') break;
            else throw this.unexpected("',' or ')'");
          }
        }
        this.advance();
        const [min, max] = FUNCS[w];
        if (args.length < min || args.length > max) {
          const wanted = min === max ? `${min}` : `${min} to ${max}`;
          throw syntax(column, `${w}() takes ${wanted} argument${max === 1 ? '' : 's'}, got ${args.length}`);
        }
        return { t: 'call', f: w, args };
      }
      default:
        throw this.unexpected('a value');
    }
  }
}

/** Parses an expression; throws a ParseError (column, message, code). */
export function parseExpression(src) {
  const bytes = utf8Len(src);
  if (bytes > MAX_EXPR_BYTES) {
    throw new ParseError(1, `表达式过长 / expression is ${bytes} bytes; at most ${MAX_EXPR_BYTES}`, 'expression_too_long');
  }
  const parser = new Parser(lex(src));
  const e = parser.expr();
  if (parser.peek().k !== 'end') throw parser.unexpected('an operator or the end');
  return e;
}

function forEachRef(e, f) {
  switch (e.t) {
    case 'ref': f(e); break;
    case 'neg': forEachRef(e.e, f); break;
    case 'arith': forEachRef(e.first, f); for (const [, x] of e.rest) forEachRef(x, f); break;
    case 'cmp': forEachRef(e.a, f); forEachRef(e.b, f); break;
    case 'and': case 'or': for (const x of e.items) forEachRef(x, f); break;
    case 'call': for (const x of e.args) forEachRef(x, f); break;
    default: break;
  }
}

const refDisplay = (r) => `\${${r.path.join('.')}}`;

// ---------------------------------------------------------------------------------------------
// Patterns: Rust `regex` syntax, run as a JavaScript RegExp with the u flag. Rust's classes are
// Unicode-aware (\d is any decimal digit, \w any word character), so they are spelt out.

const SCRIPTS = new Set([
  'Han', 'Latin', 'Greek', 'Cyrillic', 'Arabic', 'Hebrew', 'Tibetan', 'Mongolian', 'Hangul', 'Hiragana', 'Katakana',
  'Thai', 'Yi', 'Bopomofo', 'Common', 'Inherited', 'Devanagari', 'Armenian', 'Georgian', 'Ethiopic', 'Khmer', 'Lao',
  'Myanmar', 'Tai_Le', 'New_Tai_Lue', 'Tai_Tham', 'Lisu', 'Miao', 'Nushu',
]);
const WORD = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}';
const POSIX = {
  alnum: '0-9A-Za-z', alpha: 'A-Za-z', ascii: '\\x00-\\x7F', blank: '\\t ', cntrl: '\\x00-\\x1F\\x7F', digit: '0-9',
  graph: '!-~', lower: 'a-z', print: ' -~', punct: '!-\\/:-@\\[-`{-~', space: '\\t\\n\\v\\f\\r ', upper: 'A-Z',
  word: '0-9A-Za-z_', xdigit: '0-9A-Fa-f',
};
const JS_SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''));

function translatePattern(p) {
  const cs = chars(p);
  let out = '';
  let inClass = false;
  for (let i = 0; i < cs.length; i += 1) {
    const c = cs[i];
    if (c === '\\') {
      const n = cs[i + 1];
      i += 1;
      if (n === undefined) return out + '\\';
      if (n === 'd') out += '\\p{Nd}';
      else if (n === 'D') out += '\\P{Nd}';
      else if (n === 's') out += '\\p{White_Space}';
      else if (n === 'S') out += '\\P{White_Space}';
      else if (n === 'w') out += inClass ? WORD : `[${WORD}]`;
      else if (n === 'W') out += inClass ? '\\W' : `[^${WORD}]`;
      else if (n === 'p' || n === 'P') {
        let name;
        if (cs[i + 1] === '{') {
          const close = cs.indexOf('}', i + 2);
          if (close < 0) return out + cs.slice(i - 1).join('');
          name = cs.slice(i + 2, close).join('');
          i = close;
        } else {
          name = cs[i + 1] ?? '';
          i += 1;
        }
        out += `\\${n}{${SCRIPTS.has(name) ? `Script=${name}` : name}}`;
      } else if (n === 'x' && cs[i + 1] === '{') {
        const close = cs.indexOf('}', i + 2);
        if (close < 0) return out + cs.slice(i - 1).join('');
        out += `\\u{${cs.slice(i + 2, close).join('')}}`;
        i = close;
      } else if (/^[!-~]$/.test(n) && !/^[0-9A-Za-z]$/.test(n) && !JS_SYNTAX.has(n) && !(inClass && n === '-')) {
        out += `\\x${n.codePointAt(0).toString(16).padStart(2, '0')}`;
      } else out += `\\${n}`;
      continue;
    }
    if (inClass) {
      if (c === '[' && cs[i + 1] === ':') {
        const close = cs.indexOf(':', i + 2);
        const name = close > 0 && cs[close + 1] === ']' ? cs.slice(i + 2, close).join('') : null;
        if (name !== null && hasOwn(POSIX, name)) {
          out += POSIX[name];
          i = close + 1;
          continue;
        }
      }
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (cs[i + 1] === '^') {
        out += '^';
        i += 1;
      }
      continue;
    }
    if (c === '.') out += '[^\\n]';
    else if (c === '(' && cs[i + 1] === '?' && cs[i + 2] === 'P' && cs[i + 3] === '<') {
      out += '(?<';
      i += 3;
    } else out += c;
  }
  return out;
}

function compilePattern(p) {
  if (p === '') return { error: 'the pattern is empty' };
  if (utf8Len(p) > MAX_PATTERN_BYTES) return { error: `longer than ${MAX_PATTERN_BYTES} bytes` };
  try {
    return { re: new RegExp(`^(?:${translatePattern(p)})$`, 'u') };
  } catch (e) {
    return { error: String(e.message ?? e) };
  }
}

// ---------------------------------------------------------------------------------------------
// Checking a definition (a port of check.rs).

const KINDS = ['text', 'integer', 'decimal', 'boolean', 'date', 'select_one', 'select_multiple', 'geopoint', 'photo', 'repeat', 'note', 'calculate'];
const takesAnswer = (k) => k !== 'repeat' && k !== 'note' && k !== 'calculate';

/** A bound as the Rust engine's untagged `Bound` reads it. */
function readBound(b) {
  if (b === undefined || b === null) return null;
  if (typeof b === 'bigint') return { t: 'int', v: b };
  if (typeof b === 'number') return Number.isSafeInteger(b) ? { t: 'int', v: BigInt(b) } : { t: 'dec', v: b };
  if (typeof b === 'string') {
    // chrono's NaiveDate::from_str, which reads a definition's bounds, is lenient where answers
    // are not: "2024-1-1", " 2024-01-01" and "+2024-01-01" are all 1 January 2024.
    const m = /^\s*\+?(\d{4})-(\d{1,2})-(\d{1,2})\s*$/.exec(b);
    const d = m && parseDate(`${m[1]}-${m[2].padStart(2, '0')}-${m[3].padStart(2, '0')}`);
    return d ? { t: 'date', v: d } : { t: 'bad' };
  }
  return { t: 'bad' };
}

const boundNumber = (b) => (b.t === 'int' ? Number(b.v) : b.t === 'dec' ? b.v : NaN);

function cmpNum(a, b) {
  if (Number.isNaN(a) || Number.isNaN(b)) return null;
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareBounds(a, b) {
  if (a.t === 'int' && b.t === 'int') return a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
  if (a.t === 'date' && b.t === 'date') return Math.sign(a.v.key - b.v.key);
  if ((a.t === 'int' || a.t === 'dec') && (b.t === 'int' || b.t === 'dec')) return cmpNum(boundNumber(a), boundNumber(b));
  return null;
}

function showBound(b) {
  if (b.t === 'int') return b.v.toString();
  if (b.t === 'dec') return rustFloat(b.v);
  return b.v.toString();
}

const isKey = (s) => typeof s === 'string' && s.length <= MAX_NAME_LEN && /^[a-z][a-z0-9_]*$/.test(s);
const isChoiceValue = (s) => typeof s === 'string' && s !== '' && utf8Len(s) <= MAX_NAME_LEN && /^[A-Za-z0-9_.-]+$/.test(s);

const TY_DESCRIBE = {
  int: 'integer', dec: 'decimal', text: 'text', bool: 'boolean', date: 'date', multi: 'select_multiple answer',
  geo: 'geopoint', photo: 'photo', empty: "''", unknown: 'unknown', instances: 'repeat (use count())',
  manyInt: 'values of many instances (use sum(), min() or max())', manyDec: 'values of many instances (use sum(), min() or max())',
  manyOther: 'values of many instances (use sum(), min() or max())', nothing: 'note (no value)',
};
const isNumberTy = (t) => t === 'int' || t === 'dec';
const isScalarTy = (t) => !['instances', 'manyInt', 'manyDec', 'manyOther', 'nothing'].includes(t);

function baseType(kind) {
  return {
    text: 'text', select_one: 'text', integer: 'int', decimal: 'dec', boolean: 'bool', date: 'date', select_multiple: 'multi',
    geopoint: 'geo', photo: 'photo', repeat: 'instances', note: 'nothing', calculate: 'unknown',
  }[kind] ?? 'unknown';
}

class TypeCheck {
  constructor(nodes, current, inRepeat) {
    this.nodes = nodes;
    this.current = current; // null, {of: ty} or {choice: id}
    this.inRepeat = inRepeat;
    this.problems = [];
  }

  mismatch(message) {
    this.problems.push(['type_mismatch', message]);
    return 'unknown';
  }

  boolean(e, what) {
    const ty = this.ty(e);
    if (ty !== 'bool' && ty !== 'unknown') this.mismatch(`${what} must be a boolean, not ${TY_DESCRIBE[ty]}`);
  }

  selectField(e) {
    let id;
    if (e.t === 'ref' && e.target.length === 1) id = e.target[0];
    else if (e.t === 'current' && this.current?.choice !== undefined) id = this.current.choice;
    else return null;
    const node = this.nodes[id];
    return node && (node.kind === 'select_one' || node.kind === 'select_multiple') ? node : null;
  }

  checkChoice(field, value) {
    const node = this.selectField(field);
    if (!node || value.t !== 'lit' || typeof value.v !== 'string') return;
    if (!node.choices.has(value.v)) this.problems.push(['unknown_choice', `'${value.v}' is not a choice of ${node.dotted}`]);
  }

  ty(e) {
    switch (e.t) {
      case 'lit':
        if (e.v === null) return 'empty';
        if (typeof e.v === 'boolean') return 'bool';
        if (typeof e.v === 'bigint') return 'int';
        if (typeof e.v === 'number') return 'dec';
        return 'text';
      case 'current':
        if (!this.current) return this.mismatch("'.' (the answer itself) only exists in a constraint");
        if (this.current.of) return this.current.of;
        return this.nodes[this.current.choice]?.kind === 'select_multiple' ? 'multi' : 'text';
      case 'ref': return this.reference(e);
      case 'neg': {
        const t = this.ty(e.e);
        if (t === 'int' || t === 'dec' || t === 'unknown') return t;
        return this.mismatch(`cannot negate a ${TY_DESCRIBE[t]}`);
      }
      case 'arith': {
        let acc = this.ty(e.first);
        for (const [op, operand] of e.rest) {
          const right = this.ty(operand);
          if (acc === 'unknown' || right === 'unknown') acc = 'unknown';
          else if (acc === 'int' && right === 'int' && op !== 'div') acc = 'int';
          else if (isNumberTy(acc) && isNumberTy(right)) acc = 'dec';
          else acc = this.mismatch(`'${op}' needs numbers, not ${TY_DESCRIBE[acc]} and ${TY_DESCRIBE[right]}`);
        }
        return acc;
      }
      case 'cmp': {
        const ta = this.ty(e.a);
        const tb = this.ty(e.b);
        this.comparison(e.op, ta, tb);
        this.checkChoice(e.a, e.b);
        this.checkChoice(e.b, e.a);
        return 'bool';
      }
      case 'and': case 'or':
        for (const item of e.items) this.boolean(item, `each side of '${e.t}'`);
        return 'bool';
      case 'call': return this.call(e.f, e.args);
      default: return 'unknown';
    }
  }

  reference(r) {
    if (r.target.length === 0) return 'unknown';
    const node = this.nodes[r.target[r.target.length - 1]];
    if (!node) return 'unknown';
    if (node.kind === 'repeat') return 'instances';
    if (r.target.length === 1) return node.ty;
    if (node.ty === 'int') return 'manyInt';
    if (node.ty === 'dec') return 'manyDec';
    if (node.ty === 'unknown') return 'unknown';
    return 'manyOther';
  }

  comparison(op, a, b) {
    if (a === 'unknown' || b === 'unknown') return;
    const equality = op === '=' || op === '!=';
    let fits;
    if (!isScalarTy(a) || !isScalarTy(b)) fits = false;
    else if (equality) {
      fits = a === 'empty' || b === 'empty' || (isNumberTy(a) && isNumberTy(b)) || (a === b && ['text', 'bool', 'date', 'multi'].includes(a));
    } else fits = (isNumberTy(a) && isNumberTy(b)) || (a === b && (a === 'text' || a === 'date'));
    if (fits) return;
    let hint = '';
    if ((a === 'multi' && b === 'text') || (a === 'text' && b === 'multi')) {
      hint = "; to test one choice of a select_multiple use selected(${field}, 'value')";
    } else if ((a === 'date' && b === 'text') || (a === 'text' && b === 'date')) hint = "; write a date as date('YYYY-MM-DD')";
    else if (a === 'empty' || b === 'empty') hint = "; only = and != compare with ''";
    this.mismatch(`cannot compare ${TY_DESCRIBE[a]} ${op} ${TY_DESCRIBE[b]}${hint}`);
  }

  unify(what, a, b) {
    if (a === 'unknown' || b === 'unknown') return 'unknown';
    if (!isScalarTy(a) || !isScalarTy(b)) return this.mismatch(`${what} takes single values, not ${TY_DESCRIBE[a]} and ${TY_DESCRIBE[b]}`);
    if (a === b) return a;
    if (a === 'empty') return b;
    if (b === 'empty') return a;
    if (isNumberTy(a) && isNumberTy(b)) return 'dec';
    return this.mismatch(`${what} gives either ${TY_DESCRIBE[a]} or ${TY_DESCRIBE[b]}; both must have one type`);
  }

  expect(f, ty, ok, wanted) {
    if (ty !== 'unknown' && !ok.includes(ty)) this.mismatch(`${f}() takes ${wanted}, not ${TY_DESCRIBE[ty]}`);
  }

  call(f, args) {
    const types = args.map((a) => this.ty(a));
    const t = (i) => types[i] ?? 'unknown';
    switch (f) {
      case 'if':
        if (t(0) !== 'bool' && t(0) !== 'unknown') this.mismatch(`the condition of if() must be a boolean, not ${TY_DESCRIBE[t(0)]}`);
        return this.unify('if()', t(1), t(2));
      case 'not':
        this.expect(f, t(0), ['bool'], 'a boolean');
        return 'bool';
      case 'coalesce': return this.unify('coalesce()', t(0), t(1));
      case 'selected':
        this.expect(f, t(0), ['multi', 'text'], 'a select field');
        this.expect(f, t(1), ['text'], 'a choice value as its second argument');
        if (args.length >= 2) this.checkChoice(args[0], args[1]);
        return 'bool';
      case 'count_selected':
        this.expect(f, t(0), ['multi', 'text'], 'a select field');
        return 'int';
      case 'count':
        this.expect(f, t(0), ['instances'], 'a repeat like ${members}');
        return 'int';
      case 'sum': case 'min': case 'max':
        if (t(0) === 'manyInt') return 'int';
        if (t(0) === 'manyDec') return 'dec';
        if (t(0) === 'unknown') return 'unknown';
        return this.mismatch(`${f}() takes the numbers of a repeat like \${members.income}, not ${TY_DESCRIBE[t(0)]}`);
      case 'position':
        if (!this.inRepeat) this.mismatch('position() only exists inside a repeat');
        return 'int';
      case 'today': return 'date';
      case 'date':
        this.expect(f, t(0), ['text', 'date'], 'text');
        if (args[0]?.t === 'lit' && typeof args[0].v === 'string' && !parseDate(args[0].v)) {
          this.mismatch(`'${args[0].v}' is not a date (YYYY-MM-DD)`);
        }
        return 'date';
      case 'age':
        this.expect(f, t(0), ['date'], 'a date');
        return 'int';
      case 'string_length':
        this.expect(f, t(0), ['text'], 'text');
        return 'int';
      case 'int':
        this.expect(f, t(0), ['int', 'dec'], 'a number');
        return 'int';
      case 'round': {
        this.expect(f, t(0), ['int', 'dec'], 'a number');
        const p = args[1];
        if (!(p?.t === 'lit' && typeof p.v === 'bigint' && p.v >= 0n && p.v <= 15n)) {
          this.mismatch('round() takes a literal number of places from 0 to 15');
        }
        if (t(0) === 'int') return 'int';
        if (t(0) === 'unknown') return 'unknown';
        return 'dec';
      }
      default: return 'unknown';
    }
  }
}

function truncate(s) {
  return clip(String(s));
}

class Builder {
  constructor() {
    this.nodes = [];
    this.rootIndex = new Map();
    this.errors = [];
    this.moreErrors = 0;
    this.patterns = new Map();
    this.byName = new Map();
  }

  error(path, code, message) {
    this.push(fieldError(path, code, message));
  }

  push(e) {
    if (this.errors.length < MAX_ERRORS) this.errors.push(e);
    else this.moreErrors += 1;
  }

  formLevel(def) {
    if (!isKey(def.key)) this.error('key', 'invalid_key', `表单键无效 / key must be [a-z][a-z0-9_]*, at most ${MAX_NAME_LEN} characters`);
    if (!(Number(def.version) >= 1)) this.error('version', 'invalid_version', '版本号无效 / version starts at 1');
    if (labelBlank(def.title)) this.error('title', 'missing_label', '缺少标题 / the form needs a title');
    if (!Array.isArray(def.fields) || def.fields.length === 0) this.error('fields', 'no_fields', '表单没有字段 / the form has no fields');
  }

  walk(fields, ancestors, pathPrefix, dottedPrefix) {
    const ids = [];
    const index = new Map();
    fields.forEach((given, slot) => {
      const field = isObject(given) ? given : {};
      const defPath = `${pathPrefix}fields[${slot}]`;
      const name = String(field.name ?? '');
      const dotted = dottedPrefix === '' ? name : `${dottedPrefix}.${name}`;
      if (!isName(name) || utf8Len(name) > MAX_NAME_LEN) {
        this.error(`${defPath}.name`, 'invalid_name', `名称无效 / name '${truncate(name)}' must be [a-z_][a-z0-9_]*, at most ${MAX_NAME_LEN} characters`);
      } else if (index.has(name)) {
        const firstPath = this.nodes[index.get(name)]?.defPath ?? '';
        this.error(`${defPath}.name`, 'duplicate_name', `名称重复 / name '${name}' is already used by ${firstPath}`);
      }
      const id = this.nodes.length;
      if (isName(name) && !index.has(name)) index.set(name, id);
      ids.push(id);
      const kind = KINDS.includes(field.kind) ? field.kind : 'note';
      const pattern = this.fieldAttributes(field, kind, defPath);
      const parsed = { relevant: null, constraint: null, calculate: null };
      for (const attr of ['relevant', 'constraint', 'calculate']) {
        const src = field[attr];
        if (src === undefined || src === null) continue;
        try {
          parsed[attr] = parseExpression(String(src));
        } catch (e) {
          if (!(e instanceof ParseError)) throw e;
          this.error(`${defPath}.${attr}`, e.code, `表达式有误 / ${e}`);
        }
      }
      this.nodes.push({
        id, name, dotted, defPath, kind, ancestors: [...ancestors], slot, children: [], index: new Map(),
        required: field.required === true, min: readBound(field.min), max: readBound(field.max), pattern,
        choices: new Set((field.choices ?? []).map((c) => c?.value)),
        relevant: parsed.relevant, constraint: parsed.constraint, calculate: parsed.calculate,
        constraintMessage: field.constraint_message ?? null, constraintSrc: field.constraint ?? null,
        ty: 'unknown', hasCalculated: false,
      });
      if (kind === 'repeat') {
        const inner = field.fields ?? [];
        if (ancestors.length >= MAX_REPEAT_DEPTH) {
          this.error(defPath, 'too_deep', `嵌套过深 / repeats nest at most ${MAX_REPEAT_DEPTH} deep; '${dotted}' would be level ${ancestors.length + 1}`);
        } else if (inner.length === 0) {
          this.error(`${defPath}.fields`, 'empty_repeat', '重复组没有字段 / a repeat needs at least one field');
        } else {
          const [children, childIndex] = this.walk(inner, [...ancestors, id], `${defPath}.`, dotted);
          this.nodes[id].children = children;
          this.nodes[id].index = childIndex;
        }
      }
    });
    return [ids, index];
  }

  fieldAttributes(f, kind, path) {
    const na = (attr) => this.error(`${path}.${attr}`, 'not_applicable', `不适用 / ${attr} does not apply to a ${kind} field`);
    const has = (attr) => f[attr] !== undefined && f[attr] !== null;
    if (labelBlank(f.label) && kind !== 'calculate') this.error(`${path}.label`, 'missing_label', '缺少标签 / the field needs a label (zh or en)');
    if (f.required === true && !takesAnswer(kind)) na('required');
    if (has('constraint') && !takesAnswer(kind)) na('constraint');
    if (has('constraint_message') && !has('constraint')) na('constraint_message');
    else if (has('constraint_message') && labelBlank(f.constraint_message)) {
      this.error(`${path}.constraint_message`, 'missing_label', '约束提示为空 / constraint_message is empty');
    }
    if (kind === 'calculate' && !has('calculate')) this.error(`${path}.calculate`, 'missing_calculate', '缺少计算式 / a calculate field needs a calculate expression');
    else if (kind !== 'calculate' && has('calculate')) na('calculate');
    if (kind !== 'repeat' && (f.fields ?? []).length > 0) na('fields');
    this.bounds(f, kind, path);
    this.choices(f, kind, path);
    if (!has('pattern')) return null;
    if (kind !== 'text') {
      na('pattern');
      return null;
    }
    return this.pattern(String(f.pattern), path);
  }

  pattern(p, path) {
    if (!this.patterns.has(p)) this.patterns.set(p, compilePattern(p));
    const r = this.patterns.get(p);
    if (r.re) return r.re;
    this.error(`${path}.pattern`, 'invalid_pattern', `正则表达式无效 / ${r.error}`);
    return null;
  }

  bounds(f, kind, path) {
    const fits = (b) => {
      switch (kind) {
        case 'integer': return b.t === 'int' ? null : 'an integer';
        case 'decimal': return b.t === 'int' || (b.t === 'dec' && Number.isFinite(b.v)) ? null : 'a finite number';
        case 'date': return b.t === 'date' ? null : 'a date (YYYY-MM-DD)';
        case 'text': return b.t === 'int' && b.v >= 0n ? null : 'a length (an integer ≥ 0)';
        case 'select_multiple': return b.t === 'int' && b.v >= 0n ? null : 'a number of choices (an integer ≥ 0)';
        case 'repeat': return b.t === 'int' && b.v >= 0n && b.v <= BigInt(MAX_INSTANCES) ? null : 'a number of instances (0 to 1,000)';
        default: return '';
      }
    };
    const takesBounds = ['integer', 'decimal', 'date', 'text', 'select_multiple', 'repeat'].includes(kind);
    let ok = true;
    const min = readBound(f.min);
    const max = readBound(f.max);
    for (const [attr, bound] of [['min', min], ['max', max]]) {
      if (!bound) continue;
      if (!takesBounds) {
        ok = false;
        this.error(`${path}.${attr}`, 'not_applicable', `不适用 / ${attr} does not apply to a ${kind} field`);
        continue;
      }
      const wanted = fits(bound);
      if (wanted !== null) {
        ok = false;
        this.error(`${path}.${attr}`, 'invalid_bound', `界限无效 / ${attr} of a ${kind} field must be ${wanted}`);
      }
    }
    if (ok && min && max && compareBounds(min, max) === 1) this.error(`${path}.min`, 'invalid_bound', '界限无效 / min is greater than max');
  }

  choices(f, kind, path) {
    const list = f.choices ?? [];
    if (kind !== 'select_one' && kind !== 'select_multiple') {
      if (list.length > 0) this.error(`${path}.choices`, 'not_applicable', `不适用 / choices do not apply to a ${kind} field`);
      return;
    }
    if (list.length === 0) {
      this.error(`${path}.choices`, 'missing_choices', '缺少选项 / a select field needs choices');
      return;
    }
    if (list.length > MAX_CHOICES) {
      this.error(`${path}.choices`, 'too_many_choices', `选项过多 / at most ${MAX_CHOICES} choices`);
      return;
    }
    const seen = new Map();
    list.forEach((given, j) => {
      const c = isObject(given) ? given : {};
      if (!isChoiceValue(c.value)) {
        this.error(`${path}.choices[${j}].value`, 'invalid_choice_value', `选项值无效 / choice value '${truncate(c.value ?? '')}' must be 1 to ${MAX_NAME_LEN} of [A-Za-z0-9_.-]`);
      } else if (seen.has(c.value)) {
        this.error(`${path}.choices[${j}].value`, 'duplicate_choice', `选项重复 / choice value '${c.value}' is already used by choices[${seen.get(c.value)}]`);
      } else seen.set(c.value, j);
      if (labelBlank(c.label)) this.error(`${path}.choices[${j}].label`, 'missing_label', '缺少标签 / the choice needs a label (zh or en)');
    });
  }

  lookup(scope, name) {
    for (let level = scope.length; level >= 0; level -= 1) {
      const index = level === 0 ? this.rootIndex : this.nodes[scope[level - 1]]?.index;
      if (index?.has(name)) return index.get(name);
    }
    return undefined;
  }

  resolve(scope, r) {
    const [head, ...rest] = r.path;
    let id = this.lookup(scope, head);
    if (id === undefined) {
      const elsewhere = this.byName.get(head) ?? [];
      if (elsewhere.length === 0) throw new Error(`未知字段 / unknown field ${refDisplay(r)}`);
      throw new Error(
        `未知字段 / ${refDisplay(r)} is not visible here: it is ${elsewhere.join(', ')}; a field inside a repeat is reached from outside only as \${repeat.field} in sum(), min(), max() or count()`,
      );
    }
    const target = [id];
    for (const step of rest) {
      const node = this.nodes[id];
      if (node.kind !== 'repeat') throw new Error(`引用无效 / in ${refDisplay(r)}: '${node.dotted}' is not a repeat, so '${step}' cannot follow it`);
      if (!node.index.has(step)) throw new Error(`未知字段 / in ${refDisplay(r)}: repeat '${node.dotted}' has no field '${step}'`);
      id = node.index.get(step);
      target.push(id);
    }
    if (this.nodes[id]?.kind === 'note') throw new Error(`引用无效 / ${refDisplay(r)} is a note and has no value`);
    return target;
  }

  resolveAll() {
    for (const node of this.nodes) {
      const places = this.byName.get(node.name) ?? [];
      if (places.length < 3) places.push(node.dotted);
      this.byName.set(node.name, places);
    }
    for (const node of this.nodes) {
      for (const attr of ['relevant', 'constraint', 'calculate']) {
        const e = node[attr];
        if (!e) continue;
        const problems = [];
        forEachRef(e, (r) => {
          try {
            r.target = this.resolve(node.ancestors, r);
          } catch (err) {
            if (!problems.includes(err.message)) problems.push(err.message);
          }
        });
        for (const message of problems) this.error(`${node.defPath}.${attr}`, 'unknown_field', message);
      }
    }
  }

  order() {
    const n = this.nodes.length;
    const deps = this.nodes.map((node) => {
      const d = node.ancestors.length > 0 ? [node.ancestors[node.ancestors.length - 1]] : [];
      for (const e of [node.relevant, node.calculate]) {
        if (e) forEachRef(e, (r) => { if (r.target.length > 0) d.push(r.target[r.target.length - 1]); });
      }
      return [...new Set(d)].filter((t) => t < n).sort((a, b) => a - b);
    });
    const order = [];
    for (const component of stronglyConnected(deps)) {
      const cyclic = component.length > 1 || deps[component[0]].includes(component[0]);
      if (cyclic) {
        const cycle = cycleThrough(deps, component);
        let message = `循环引用 / fields depend on each other through relevant or calculate: ${cycle.map((v) => this.nodes[v].dotted).join(' → ')}`;
        if (component.length + 1 > cycle.length) message += ` (${component.length} fields in the cycle in all)`;
        this.error(this.nodes[cycle[0]]?.defPath ?? '', 'cycle', message);
      }
      order.push(...component);
    }
    return order;
  }

  types(order) {
    for (const node of this.nodes) node.ty = baseType(node.kind);
    for (const id of order) {
      const node = this.nodes[id];
      if (node.kind !== 'calculate' || !node.calculate) continue;
      const tc = new TypeCheck(this.nodes, null, node.ancestors.length > 0);
      let ty = tc.ty(node.calculate);
      if (!['int', 'dec', 'text', 'bool', 'date', 'multi', 'unknown'].includes(ty)) {
        tc.problems.push(['type_mismatch', `a calculation cannot give a ${TY_DESCRIBE[ty]}`]);
        ty = 'unknown';
      }
      this.report(`${node.defPath}.calculate`, tc.problems);
      node.ty = ty;
    }
    for (const node of this.nodes) {
      const inRepeat = node.ancestors.length > 0;
      const reports = [];
      if (node.relevant) {
        const tc = new TypeCheck(this.nodes, null, inRepeat);
        tc.boolean(node.relevant, 'relevant');
        reports.push([`${node.defPath}.relevant`, tc.problems]);
      }
      if (node.constraint) {
        const current = node.kind === 'select_one' || node.kind === 'select_multiple' ? { choice: node.id } : { of: baseType(node.kind) };
        const tc = new TypeCheck(this.nodes, current, inRepeat);
        tc.boolean(node.constraint, 'constraint');
        reports.push([`${node.defPath}.constraint`, tc.problems]);
      }
      for (const [path, problems] of reports) this.report(path, problems);
    }
  }

  report(path, problems) {
    for (const [code, message] of problems) {
      this.error(path, code, `${code === 'unknown_choice' ? '选项不存在' : '类型不符'} / ${message}`);
    }
  }

  markCalculated() {
    for (let id = this.nodes.length - 1; id >= 0; id -= 1) {
      const node = this.nodes[id];
      if (node.kind === 'calculate' || node.hasCalculated) {
        node.hasCalculated = true;
        const parent = node.ancestors[node.ancestors.length - 1];
        if (parent !== undefined) this.nodes[parent].hasCalculated = true;
      }
    }
  }
}

function countFields(fields) {
  let total = 0;
  const stack = [fields];
  while (stack.length > 0) {
    const level = stack.pop();
    total += level.length;
    if (total > MAX_FIELDS) return total;
    for (const f of level) if (Array.isArray(f?.fields) && f.fields.length > 0) stack.push(f.fields);
  }
  return total;
}

/** Tarjan's algorithm without recursion; components come out dependencies first. */
function stronglyConnected(deps) {
  const n = deps.length;
  const index = new Array(n).fill(-1);
  const low = new Array(n).fill(0);
  const onStack = new Array(n).fill(false);
  const stack = [];
  const components = [];
  let next = 0;
  for (let start = 0; start < n; start += 1) {
    if (index[start] !== -1) continue;
    index[start] = next;
    low[start] = next;
    next += 1;
    stack.push(start);
    onStack[start] = true;
    const calls = [[start, 0]];
    while (calls.length > 0) {
      const top = calls[calls.length - 1];
      const [v, edge] = top;
      const edges = deps[v];
      if (edge < edges.length) {
        const w = edges[edge];
        top[1] += 1;
        if (index[w] === -1) {
          index[w] = next;
          low[w] = next;
          next += 1;
          stack.push(w);
          onStack[w] = true;
          calls.push([w, 0]);
        } else if (onStack[w]) low[v] = Math.min(low[v], index[w]);
        continue;
      }
      calls.pop();
      if (calls.length > 0) {
        const parent = calls[calls.length - 1][0];
        low[parent] = Math.min(low[parent], low[v]);
      }
      if (low[v] === index[v]) {
        const component = [];
        for (;;) {
          const w = stack.pop();
          onStack[w] = false;
          component.push(w);
          if (w === v) break;
        }
        component.reverse();
        components.push(component);
      }
    }
  }
  return components;
}

/** A shortest cycle from the component's first field back to it, found breadth-first. */
function cycleThrough(deps, component) {
  const start = Math.min(...component);
  const inside = new Set(component);
  const parent = new Map();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift();
    for (const w of deps[v]) {
      if (w === start) {
        const path = [start];
        let at = v;
        while (at !== start) {
          path.push(at);
          if (!parent.has(at)) break;
          at = parent.get(at);
        }
        const rest = path.slice(1).reverse();
        return [start, ...rest, start];
      }
      if (inside.has(w) && w !== start && !parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/**
 * Checks a definition and compiles it: `{form, errors}`, with `form` null when there are errors
 * (each `{field, code, message}`, `field` being the path in the definition).
 */
export function compileForm(definition) {
  const def = definition ?? {};
  const fields = Array.isArray(def.fields) ? def.fields : [];
  if (countFields(fields) > MAX_FIELDS) {
    return { form: null, errors: [fieldError('fields', 'too_many_fields', `字段过多 / more than ${MAX_FIELDS} fields (repeats included)`)] };
  }
  const b = new Builder();
  b.formLevel(def);
  const [roots, rootIndex] = b.walk(fields, [], '', '');
  b.rootIndex = rootIndex;
  b.resolveAll();
  const order = b.order();
  b.types(order);
  b.markCalculated();
  if (b.errors.length > 0) {
    if (b.moreErrors > 0) b.errors.push(tooManyErrors(b.moreErrors));
    return { form: null, errors: b.errors };
  }
  return { form: new CompiledForm(def, b.nodes, roots, rootIndex, order), errors: [] };
}

// ---------------------------------------------------------------------------------------------
// Evaluation (a port of eval.rs).

class EvalError {
  constructor(code, message) {
    this.code = code;
    this.message = message;
  }
}

const evalErr = (code, message) => new EvalError(code, message);
const divisionByZero = () => evalErr('division_by_zero', '除数为零 / division by zero');
const overflow = () => evalErr('overflow', '数值溢出 / number out of range');
const internal = (what) => evalErr('evaluation_error', `计算出错 / ${what}`);

function describeValue(v) {
  if (v === null) return 'empty';
  if (v === OPAQUE) return 'a geopoint or photo';
  if (typeof v === 'boolean') return 'a boolean';
  if (typeof v === 'bigint') return 'an integer';
  if (typeof v === 'number') return 'a decimal';
  if (typeof v === 'string') return 'text';
  if (v instanceof DateValue) return 'a date';
  return 'a select_multiple answer';
}

const typeError = (what, v) => internal(`${what}, got ${describeValue(v)}`);

function finite(d) {
  if (Number.isFinite(d)) return d;
  throw evalErr('not_finite', '结果不是有限数 / the result is not a finite number');
}

function int64(n) {
  if (n < I64_MIN || n > I64_MAX) throw overflow();
  return n;
}

function toNumber(v) {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return v;
  throw typeError('expected a number', v);
}

function arith(op, a, b) {
  if (a === null || b === null) return null;
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    switch (op) {
      case '+': return int64(a + b);
      case '-': return int64(a - b);
      case '*': return int64(a * b);
      case 'div':
        if (b === 0n) throw divisionByZero();
        return finite(Number(a) / Number(b));
      default:
        if (b === 0n) throw divisionByZero();
        if (a === I64_MIN && b === -1n) throw overflow();
        return a % b;
    }
  }
  const x = toNumber(a);
  const y = toNumber(b);
  switch (op) {
    case '+': return finite(x + y);
    case '-': return finite(x - y);
    case '*': return finite(x * y);
    default:
      if (y === 0) throw divisionByZero();
      return finite(op === 'div' ? x / y : x % y);
  }
}

function equal(a, b) {
  if (a === null && b === null) return true;
  if (a === null || b === null) return false;
  const num = (v) => typeof v === 'bigint' || typeof v === 'number';
  if (typeof a === 'bigint' && typeof b === 'bigint') return a === b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b;
  if (typeof a === 'string' && typeof b === 'string') return a === b;
  if (a instanceof DateValue && b instanceof DateValue) return a.key === b.key;
  if (Array.isArray(a) && Array.isArray(b)) {
    const x = [...a].sort(compareText);
    const y = [...b].sort(compareText);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  if (num(a) && num(b)) return toNumber(a) === toNumber(b);
  throw internal(`cannot compare ${describeValue(a)} with ${describeValue(b)}`);
}

function compare(op, a, b) {
  if (op === '=' || op === '!=') {
    const eq = equal(a, b);
    return op === '=' ? eq : !eq;
  }
  if (a === null || b === null) return false;
  let ord;
  if (typeof a === 'bigint' && typeof b === 'bigint') ord = a < b ? -1 : a > b ? 1 : 0;
  else if (typeof a === 'string' && typeof b === 'string') ord = compareText(a, b);
  else if (a instanceof DateValue && b instanceof DateValue) ord = Math.sign(a.key - b.key);
  else {
    ord = cmpNum(toNumber(a), toNumber(b));
    if (ord === null) return false;
  }
  switch (op) {
    case '<': return ord < 0;
    case '<=': return ord <= 0;
    case '>': return ord > 0;
    default: return ord >= 0;
  }
}

/** Rust's f64::round: half away from zero. */
const roundHalfAway = (x) => (x < 0 ? -Math.round(-x) : Math.round(x));

function frameAt(form, root, ancestors, chain) {
  if (chain.length < ancestors.length) return null;
  let frame = root;
  for (let i = 0; i < ancestors.length; i += 1) {
    const slot = frame.slots[form.nodes[ancestors[i]].slot];
    if (!slot || !slot.inst) return null;
    frame = slot.inst[chain[i]];
    if (!frame) return null;
  }
  return frame;
}

class Evaluator {
  constructor(form, root, today, budget) {
    this.form = form;
    this.root = root;
    this.today = today;
    this.budget = budget; // {left}
  }

  charge(steps) {
    if (this.budget.left < steps) {
      this.budget.left = 0;
      throw evalErr('evaluation_too_costly', '计算量过大 / evaluating this answer set takes too many steps');
    }
    this.budget.left -= steps;
  }

  truthy(e, ctx) {
    const v = this.eval(e, ctx);
    if (typeof v === 'boolean') return v;
    if (v === null) return false;
    throw typeError('expected a boolean', v);
  }

  eval(e, ctx) {
    this.charge(1);
    switch (e.t) {
      case 'lit': return e.v;
      case 'current':
        if (ctx.current === undefined) throw internal("'.' has no value here");
        return ctx.current;
      case 'ref': return this.scalar(e, ctx);
      case 'neg': {
        const v = this.eval(e.e, ctx);
        if (v === null) return null;
        if (typeof v === 'bigint') return int64(-v);
        if (typeof v === 'number') return finite(-v);
        throw typeError('expected a number', v);
      }
      case 'arith': {
        let acc = this.eval(e.first, ctx);
        for (const [op, operand] of e.rest) acc = arith(op, acc, this.eval(operand, ctx));
        return acc;
      }
      case 'cmp': {
        const a = this.eval(e.a, ctx);
        const b = this.eval(e.b, ctx);
        return compare(e.op, a, b);
      }
      case 'and':
        for (const item of e.items) if (!this.truthy(item, ctx)) return false;
        return true;
      case 'or':
        for (const item of e.items) if (this.truthy(item, ctx)) return true;
        return false;
      case 'call': return this.call(e.f, e.args, ctx);
      default: throw internal('unknown expression');
    }
  }

  scalar(r, ctx) {
    if (r.target.length !== 1) throw internal(`${refDisplay(r)} stands for many values here`);
    const node = this.form.nodes[r.target[0]];
    if (node.kind === 'repeat') throw internal(`${refDisplay(r)} is a repeat`);
    const frame = frameAt(this.form, this.root, node.ancestors, ctx.chain);
    if (!frame) throw internal(`${refDisplay(r)} is out of reach`);
    const slot = frame.slots[node.slot];
    if (!slot || !('v' in slot)) throw internal(`${refDisplay(r)} is not evaluated yet`);
    return slot.v;
  }

  many(r, ctx) {
    if (r.target.length === 0) throw internal(`${refDisplay(r)} is not resolved`);
    const [head, ...steps] = r.target;
    const node = this.form.nodes[head];
    if (node.kind !== 'repeat') throw internal(`${refDisplay(r)} is not a repeat`);
    const frame = frameAt(this.form, this.root, node.ancestors, ctx.chain);
    if (!frame) throw internal(`${refDisplay(r)} is out of reach`);
    const first = frame.slots[node.slot];
    if (!first?.inst) throw internal(`${refDisplay(r)} is not evaluated yet`);
    let frames = first.inst;
    for (let i = 0; i < steps.length; i += 1) {
      const step = this.form.nodes[steps[i]];
      this.charge(frames.length);
      const last = i + 1 === steps.length;
      if (step.kind === 'repeat') {
        const next = [];
        for (const f of frames) {
          const s = f.slots[step.slot];
          if (!s?.inst) throw internal(`${refDisplay(r)} is not evaluated yet`);
          next.push(...s.inst);
        }
        frames = next;
      } else if (last) {
        return {
          values: frames.map((f) => {
            const s = f.slots[step.slot];
            if (!s || !('v' in s)) throw internal(`${refDisplay(r)} is not evaluated yet`);
            return s.v;
          }),
        };
      } else throw internal(`${refDisplay(r)} steps through a non-repeat`);
    }
    return { instances: frames.length };
  }

  numbers(arg, ctx) {
    if (arg.t !== 'ref') throw internal('expected a path like ${repeat.field}');
    const m = this.many(arg, ctx);
    if (m.values === undefined) throw internal(`${refDisplay(arg)} is a repeat, not a number`);
    return m.values.filter((v) => v !== null);
  }

  call(f, args, ctx) {
    const arg = (i) => {
      if (!args[i]) throw internal('missing argument');
      return args[i];
    };
    switch (f) {
      case 'if': return this.truthy(arg(0), ctx) ? this.eval(arg(1), ctx) : this.eval(arg(2), ctx);
      case 'not': return !this.truthy(arg(0), ctx);
      case 'coalesce': {
        const first = this.eval(arg(0), ctx);
        return first === null ? this.eval(arg(1), ctx) : first;
      }
      case 'selected': {
        const field = this.eval(arg(0), ctx);
        const choice = this.eval(arg(1), ctx);
        if (choice === null) return false;
        if (typeof choice !== 'string') throw typeError('selected() takes a choice value', choice);
        if (Array.isArray(field)) return field.includes(choice);
        if (typeof field === 'string') return field === choice;
        if (field === null) return false;
        throw typeError('selected() takes a select field', field);
      }
      case 'count_selected': {
        const v = this.eval(arg(0), ctx);
        if (Array.isArray(v)) return BigInt(v.length);
        if (typeof v === 'string') return 1n;
        if (v === null) return 0n;
        throw typeError('count_selected() takes a select field', v);
      }
      case 'count': {
        const a = arg(0);
        if (a.t !== 'ref') throw internal('count() takes a repeat');
        const m = this.many(a, ctx);
        if (m.instances === undefined) throw internal('count() takes a repeat');
        return BigInt(m.instances);
      }
      case 'sum': {
        const values = this.numbers(arg(0), ctx);
        if (values.every((v) => typeof v === 'bigint')) {
          let total = 0n;
          for (const v of values) total = int64(total + v);
          return total;
        }
        let total = 0;
        for (const v of values) total += toNumber(v);
        return finite(total);
      }
      case 'min': case 'max': {
        let best = null;
        for (const v of this.numbers(arg(0), ctx)) {
          if (best === null || compare(f === 'min' ? '<' : '>', v, best)) best = v;
        }
        return best;
      }
      case 'position':
        if (ctx.chain.length === 0) throw internal('position() outside a repeat');
        return BigInt(ctx.chain[ctx.chain.length - 1] + 1);
      case 'today': return this.today;
      case 'date': {
        const v = this.eval(arg(0), ctx);
        if (typeof v === 'string') {
          const d = parseDate(v);
          if (!d) throw evalErr('invalid_date', `日期无效 / '${v}' is not a date (YYYY-MM-DD)`);
          return d;
        }
        if (v instanceof DateValue || v === null) return v;
        throw typeError('date() takes text', v);
      }
      case 'age': {
        const v = this.eval(arg(0), ctx);
        if (v instanceof DateValue) return fullYears(v, this.today);
        if (v === null) return null;
        throw typeError('age() takes a date', v);
      }
      case 'string_length': {
        const v = this.eval(arg(0), ctx);
        if (typeof v === 'string') return BigInt(charCount(v));
        if (v === null) return 0n;
        throw typeError('string_length() takes text', v);
      }
      case 'int': {
        const v = this.eval(arg(0), ctx);
        if (typeof v === 'bigint' || v === null) return v;
        if (typeof v === 'number') {
          const t = Math.trunc(v);
          if (t >= -9223372036854775808 && t < 9223372036854775808) return BigInt(t);
          throw overflow();
        }
        throw typeError('int() takes a number', v);
      }
      case 'round': {
        const p = this.eval(arg(1), ctx);
        if (!(typeof p === 'bigint' && p >= 0n && p <= 15n)) throw typeError('round() takes 0 to 15 places', p);
        const v = this.eval(arg(0), ctx);
        if (typeof v === 'bigint' || v === null) return v;
        if (typeof v === 'number') {
          const factor = 10 ** Number(p);
          const scaled = v * factor;
          if (!Number.isFinite(scaled)) throw overflow();
          if (Math.abs(scaled) >= 4503599627370496) return v;
          return finite(roundHalfAway(scaled) / factor);
        }
        throw typeError('round() takes a number', v);
      }
      default: throw internal(`unknown function ${f}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Validation (a port of validate.rs).

const EXPECTED = {
  text: 'a string', integer: 'a whole number', decimal: 'a number', boolean: 'true or false', date: 'a date "YYYY-MM-DD"',
  select_one: 'a choice value (string)', select_multiple: 'an array of choice values', geopoint: '{"lat": …, "lon": …, "accuracy": …}',
  photo: 'a photo id (UUID string)', repeat: 'an array of objects', note: 'no answer', calculate: 'no answer',
};

function jsonKind(v) {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return 'a boolean';
  if (typeof v === 'number' || typeof v === 'bigint') return 'a number';
  if (typeof v === 'string') return 'a string';
  return Array.isArray(v) ? 'an array' : 'an object';
}

/** A JSON number as f64 (serde_json's as_f64), or null. */
const asF64 = (v) => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : null);
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

class Problem extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

function notAChoice(values) {
  return new Problem('not_a_choice', `选项不存在 / not a choice of this field: ${values.slice(0, 5).map((v) => `'${clip(v)}'`).join(', ')}`);
}

function geopoint(map) {
  const bad = (why) => new Problem('invalid_geopoint', `位置无效 / ${why}`);
  const other = byCodePoint(Object.keys(map)).find((k) => k !== 'lat' && k !== 'lon' && k !== 'accuracy');
  if (other !== undefined) throw bad(`unexpected key '${clip(other)}'`);
  const lat = hasOwn(map, 'lat') ? asF64(map.lat) : null;
  const lon = hasOwn(map, 'lon') ? asF64(map.lon) : null;
  if (lat === null || lon === null) throw bad('lat and lon are required numbers');
  if (!(lat >= -90 && lat <= 90) || !(lon >= -180 && lon <= 180)) throw bad('lat must be within ±90 and lon within ±180');
  if (!hasOwn(map, 'accuracy') || map.accuracy === null) return;
  const a = asF64(map.accuracy);
  if (a === null || !(a >= 0)) throw bad('accuracy is a number of metres ≥ 0');
}

function parseAnswer(node, raw) {
  const wrong = () => new Problem('wrong_type', `类型错误 / expected ${EXPECTED[node.kind]}, got ${jsonKind(raw)}`);
  if (raw === '' && node.kind !== 'select_multiple') return null;
  switch (node.kind) {
    case 'text':
      if (typeof raw === 'string') return raw;
      break;
    case 'integer':
      if (typeof raw === 'bigint' && raw >= I64_MIN && raw <= I64_MAX) return raw;
      if (typeof raw === 'number' && Number.isSafeInteger(raw)) return BigInt(raw);
      break;
    case 'decimal': {
      const d = asF64(raw);
      if (d !== null && Number.isFinite(d)) return d;
      break;
    }
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      break;
    case 'date':
      if (typeof raw === 'string') {
        const d = parseDate(raw);
        if (!d) throw new Problem('invalid_date', `日期无效 / '${clip(raw)}' is not a date (YYYY-MM-DD)`);
        return d;
      }
      break;
    case 'select_one':
      if (typeof raw === 'string') {
        if (node.choices.has(raw)) return raw;
        throw notAChoice([raw]);
      }
      break;
    case 'select_multiple':
      if (Array.isArray(raw)) {
        const chosen = [];
        const unknown = [];
        for (const item of raw) {
          if (typeof item !== 'string') throw wrong();
          if (!node.choices.has(item)) unknown.push(item);
          else if (chosen.includes(item)) throw new Problem('duplicate_choice', `重复选择 / '${item}' is chosen twice`);
          else chosen.push(item);
        }
        if (unknown.length > 0) throw notAChoice(unknown);
        return chosen.length === 0 ? null : chosen;
      }
      break;
    case 'geopoint':
      if (isObject(raw)) {
        geopoint(raw);
        return OPAQUE;
      }
      break;
    case 'photo':
      if (typeof raw === 'string') {
        if (UUID.test(raw)) return OPAQUE;
        throw new Problem('invalid_photo', `照片编号无效 / '${clip(raw)}' is not a photo id (UUID)`);
      }
      break;
    default:
      break;
  }
  throw wrong();
}

function countBounds(node, n, what, zhUnit) {
  const count = BigInt(n);
  if (node.min?.t === 'int' && count < node.min.v) {
    return [['below_min', `至少 ${node.min.v} ${zhUnit} / at least ${node.min.v} ${what}, got ${n}`]];
  }
  if (node.max?.t === 'int' && count > node.max.v) {
    return [['above_max', `至多 ${node.max.v} ${zhUnit} / at most ${node.max.v} ${what}, got ${n}`]];
  }
  return [];
}

function numberBounds(node, cmp, problems) {
  if (node.min && cmp(node.min) === -1) {
    const m = showBound(node.min);
    problems.push(['below_min', `小于最小值 ${m} / must be at least ${m}`]);
  }
  if (node.max && cmp(node.max) === 1) {
    const m = showBound(node.max);
    problems.push(['above_max', `大于最大值 ${m} / must be at most ${m}`]);
  }
}

function checkAnswer(node, value) {
  const problems = [];
  if (typeof value === 'bigint') {
    numberBounds(node, (b) => (b.t === 'int' ? (value < b.v ? -1 : value > b.v ? 1 : 0) : cmpNum(Number(value), boundNumber(b))), problems);
  } else if (typeof value === 'number') {
    numberBounds(node, (b) => cmpNum(value, boundNumber(b)), problems);
  } else if (value instanceof DateValue) {
    numberBounds(node, (b) => (b.t === 'date' ? Math.sign(value.key - b.v.key) : null), problems);
  } else if (typeof value === 'string' && node.kind === 'text') {
    problems.push(...countBounds(node, charCount(value), 'characters', '个字'));
    if (node.pattern && !node.pattern.test(value)) problems.push(['pattern_mismatch', '格式不符 / the text does not have the required form']);
  } else if (Array.isArray(value)) {
    problems.push(...countBounds(node, value.length, 'choices', '项'));
  }
  return problems;
}

const required = (node) => (node.required ? [['required', '必填 / an answer is required']] : []);

function readAnswer(node, raw) {
  if (raw === undefined) return [null, required(node)];
  let value;
  try {
    value = parseAnswer(node, raw);
  } catch (e) {
    if (!(e instanceof Problem)) throw e;
    return [null, [[e.code, e.message]]];
  }
  if (value === null) return [null, required(node)];
  return [value, checkAnswer(node, value)];
}

function compareKeys(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length - b.length;
}

/** A calculated value as plain JSON: integers as numbers (BigInt beyond 2^53), dates as text. */
function plainJson(v) {
  if (v === null || v === OPAQUE) return null;
  if (typeof v === 'bigint') return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
  if (v instanceof DateValue) return v.toString();
  if (Array.isArray(v)) return [...v];
  return v;
}

/** JSON text as the server writes it: decimals always with a fraction or exponent (`1000.0`). */
function jsonText(v) {
  if (v === null || v === OPAQUE) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (Object.is(v, -0)) return '-0.0';
    const s = String(v);
    return /^-?\d+$/.test(s) ? `${s}.0` : s;
  }
  if (v instanceof DateValue) return JSON.stringify(v.toString());
  if (Array.isArray(v)) return `[${v.map(jsonText).join(',')}]`;
  if (v instanceof Map) return `{${[...v].map(([k, x]) => `${JSON.stringify(k)}:${jsonText(x)}`).join(',')}}`;
  return JSON.stringify(v);
}

function removePath(root, path) {
  let node = root;
  const segments = path.split('.');
  for (let i = 0; i < segments.length; i += 1) {
    const seg = segments[i];
    const open = seg.indexOf('[');
    const name = open < 0 ? seg : seg.slice(0, open);
    const index = open < 0 ? null : Number.parseInt(seg.slice(open + 1), 10);
    if (!isObject(node)) return;
    if (i === segments.length - 1 && index === null) {
      delete node[name];
      return;
    }
    if (!hasOwn(node, name)) return;
    node = index === null ? node[name] : node[name]?.[index];
    if (node === undefined) return;
  }
}

class Run {
  constructor(form, today) {
    this.form = form;
    this.today = today;
    this.budget = { left: EVAL_BUDGET };
    this.errors = [];
    this.moreErrors = 0;
    this.dropped = [];
    this.relevance = [];
    this.instances = 0;
    this.cells = form.roots.length;
    this.root = { raw: null, broken: false, slots: [] };
  }

  evaluator() {
    return new Evaluator(this.form, this.root, this.today, this.budget);
  }

  error(key, path, code, message) {
    this.errors.push([key, fieldError(path, code, message)]);
    if (this.errors.length >= 10 * MAX_ERRORS) this.trimErrors();
  }

  trimErrors() {
    this.errors.sort((a, b) => compareKeys(a[0], b[0]));
    if (this.errors.length > MAX_ERRORS) {
      this.moreErrors += this.errors.length - MAX_ERRORS;
      this.errors.length = MAX_ERRORS;
    }
  }

  levelKey(ancestors, chain) {
    const key = [];
    ancestors.forEach((a, i) => {
      if (i < chain.length) key.push(this.form.nodes[a].slot, chain[i]);
    });
    return key;
  }

  sortKey(node, chain, phase) {
    return [...this.levelKey(node.ancestors, chain), node.slot, phase];
  }

  levelPath(ancestors, chain) {
    let path = '';
    ancestors.forEach((a, i) => {
      if (i < chain.length) path += `${this.form.nodes[a].name}[${chain[i]}].`;
    });
    return path;
  }

  path(node, chain) {
    return this.levelPath(node.ancestors, chain) + node.name;
  }

  newFrame(raw, level, ancestors, chain, prefix) {
    if (raw) {
      const parent = ancestors[ancestors.length - 1];
      const index = parent === undefined ? this.form.rootIndex : this.form.nodes[parent].index;
      const key = [...this.levelKey(ancestors, chain), Infinity];
      // A key holding undefined is not in the JSON the server will see.
      for (const name of byCodePoint(Object.keys(raw).filter((k) => raw[k] !== undefined))) {
        const n = index.has(name) ? this.form.nodes[index.get(name)] : null;
        if (!n) this.error(key, `${prefix}${name}`, 'unknown_field', '未知字段 / the form has no such field here');
        else if (n.kind === 'note' || n.kind === 'calculate') {
          this.error(key, `${prefix}${name}`, 'not_an_input', `不接受答案 / a ${n.kind} field is not answered`);
        }
      }
    }
    return { raw, broken: false, slots: level.map(() => undefined) };
  }

  chains(ancestors) {
    let chains = [[]];
    for (let depth = 0; depth < ancestors.length; depth += 1) {
      const slot = this.form.nodes[ancestors[depth]].slot;
      const next = [];
      for (const chain of chains) {
        const frame = frameAt(this.form, this.root, ancestors.slice(0, depth), chain);
        const s = frame?.slots[slot];
        if (s?.inst) for (let i = 0; i < s.inst.length; i += 1) next.push([...chain, i]);
      }
      chains = next;
    }
    return chains;
  }

  quiet(ancestors, chain) {
    for (let depth = 1; depth <= ancestors.length; depth += 1) {
      if (frameAt(this.form, this.root, ancestors.slice(0, depth), chain.slice(0, depth))?.broken) return true;
    }
    return false;
  }

  visit(id) {
    const node = this.form.nodes[id];
    for (const chain of this.chains(node.ancestors)) {
      const slot = this.visitOne(node, chain);
      const frame = frameAt(this.form, this.root, node.ancestors, chain);
      if (frame) frame.slots[node.slot] = slot;
    }
  }

  visitOne(node, chain) {
    const frame = frameAt(this.form, this.root, node.ancestors, chain);
    let raw = frame?.raw && hasOwn(frame.raw, node.name) ? frame.raw[node.name] : undefined;
    if (raw === null) raw = undefined;
    const quiet = this.quiet(node.ancestors, chain);
    const ctx = { chain, current: undefined };
    let relevant = true;
    if (node.relevant) {
      try {
        relevant = this.evaluator().truthy(node.relevant, ctx);
      } catch (e) {
        if (!(e instanceof EvalError)) throw e;
        if (!quiet) this.evalError(this.sortKey(node, chain, 0), this.path(node, chain), e, 'relevant');
        relevant = false;
      }
      this.relevance.push([this.sortKey(node, chain, 0), this.path(node, chain), relevant]);
    }
    if (!relevant) {
      const blank = raw === undefined || raw === '' || (Array.isArray(raw) && raw.length === 0);
      if (!blank && node.kind !== 'calculate' && node.kind !== 'note') this.dropped.push([this.sortKey(node, chain, 0), this.path(node, chain)]);
      return node.kind === 'repeat' ? { inst: [] } : { v: null };
    }
    switch (node.kind) {
      case 'note': return { v: null };
      case 'calculate': {
        if (!node.calculate) return { v: null };
        try {
          const v = this.evaluator().eval(node.calculate, ctx);
          // A calculation typed decimal stays decimal when an integer branch is taken.
          return { v: node.ty === 'dec' && typeof v === 'bigint' ? Number(v) : v };
        } catch (e) {
          if (!(e instanceof EvalError)) throw e;
          if (!quiet) this.evalError(this.sortKey(node, chain, 0), this.path(node, chain), e, 'calculate');
          return { v: null };
        }
      }
      case 'repeat':
        return { inst: this.repeatInstances(node, raw, chain, this.path(node, chain), this.sortKey(node, chain, 0)) };
      default: {
        const [value, problems] = readAnswer(node, raw);
        if (!quiet && problems.length > 0) {
          const key = this.sortKey(node, chain, 0);
          const path = this.path(node, chain);
          for (const [code, message] of problems) this.error(key, path, code, message);
        }
        return { v: value };
      }
    }
  }

  evalError(key, path, e, attr) {
    this.error(key, path, e.code, `${e.message} (${attr})`);
  }

  repeatInstances(node, raw, chain, path, key) {
    let items;
    if (raw === undefined) items = [];
    else if (Array.isArray(raw)) items = raw;
    else {
      this.error(key, path, 'wrong_type', '类型错误 / a repeat is answered with an array of objects');
      return [];
    }
    const n = items.length;
    for (const [code, message] of countBounds(node, n, 'instances', '条')) this.error(key, path, code, message);
    const perInstance = Math.max(node.children.length, 1);
    const room = Math.min(Math.max(MAX_TOTAL_INSTANCES - this.instances, 0), Math.floor(Math.max(MAX_ANSWER_CELLS - this.cells, 0) / perInstance));
    const take = Math.min(n, MAX_INSTANCES, room);
    if (take < n) {
      this.error(key, path, 'too_many_instances',
        `条目过多 / only the first ${take} of ${n} instances were checked (at most ${MAX_INSTANCES} per repeat, ${MAX_TOTAL_INSTANCES} in all, and ${MAX_ANSWER_CELLS} answers in all)`);
    }
    this.instances += take;
    this.cells += take * perInstance;
    const ancestors = [...node.ancestors, node.id];
    const frames = [];
    for (let i = 0; i < take; i += 1) {
      const inner = [...chain, i];
      if (isObject(items[i])) {
        frames.push(this.newFrame(items[i], node.children, ancestors, inner, `${path}[${i}].`));
      } else {
        this.error([...key, i], `${path}[${i}]`, 'wrong_type', '类型错误 / each instance of a repeat is an object');
        const frame = this.newFrame(null, node.children, ancestors, inner, '');
        frame.broken = true;
        frames.push(frame);
      }
    }
    return frames;
  }

  constraints() {
    for (const node of this.form.nodes) {
      if (!node.constraint) continue;
      for (const chain of this.chains(node.ancestors)) {
        const slot = frameAt(this.form, this.root, node.ancestors, chain)?.slots[node.slot];
        if (!slot || !('v' in slot) || slot.v === null) continue;
        const path = this.path(node, chain);
        const key = this.sortKey(node, chain, 1);
        try {
          if (!this.evaluator().truthy(node.constraint, { chain, current: slot.v })) {
            const message = node.constraintMessage ? labelBoth(node.constraintMessage) : `不符合约束 / constraint not met: ${node.constraintSrc ?? ''}`;
            this.error(key, path, 'constraint_failed', message);
          }
        } catch (e) {
          if (!(e instanceof EvalError)) throw e;
          this.evalError(key, path, e, 'constraint');
        }
      }
    }
  }

  /** The calculated values with their types kept (Map objects, typed values). */
  calculated(frame, level) {
    const out = new Map();
    for (const id of level) {
      const node = this.form.nodes[id];
      if (!node.hasCalculated) continue;
      const slot = frame.slots[node.slot];
      let value = null;
      if (node.kind === 'calculate' && slot && 'v' in slot) value = slot.v;
      else if (node.kind === 'repeat') value = (slot?.inst ?? []).map((f) => this.calculated(f, node.children));
      out.set(node.name, value);
    }
    return out;
  }
}

function toPlain(v) {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, toPlain(x)]));
  if (Array.isArray(v) && v.some((x) => x instanceof Map)) return v.map(toPlain);
  return plainJson(v);
}

export class ValidationOutcome {
  constructor(errors, typed, dropped, relevant) {
    /** Every problem in form order: `{field, code, message}`, `field` the answer path. */
    this.errors = errors;
    /** The calculate fields, shaped like the answers (repeats as arrays of objects). */
    this.calculated = toPlain(typed);
    /** Paths of answers given for fields that are not relevant: ignored, to be left out. */
    this.dropped = dropped;
    /** Relevance of every instance of every field that has a `relevant` expression. */
    this.relevant = relevant;
    this.typed = typed;
  }

  isValid() {
    return this.errors.length === 0;
  }

  /**
   * Whether the field at an answer path (`household_members[1].disability_type`) applies: fields
   * without a `relevant` expression always do, within an instance that exists.
   */
  isRelevant(path) {
    return hasOwn(this.relevant, path) ? this.relevant[path] : true;
  }

  /** The errors of one answer path, for showing beside its field. */
  errorsAt(path) {
    return this.errors.filter((e) => e.field === path);
  }

  /** The calculated values as JSON text, decimals written as the server writes them (`1000.0`). */
  calculatedJson() {
    return jsonText(this.typed);
  }

  /** The answers without the dropped ones: what should be stored. */
  cleaned(answers) {
    const out = structuredClone(answers);
    for (const path of this.dropped) removePath(out, path);
    return out;
  }
}

export class CompiledForm {
  constructor(definition, nodes, roots, rootIndex, order) {
    this.definition = definition;
    this.nodes = nodes;
    this.roots = roots;
    this.rootIndex = rootIndex;
    this.order = order;
  }

  get key() {
    return this.definition.key;
  }

  get version() {
    return this.definition.version;
  }

  /** Dotted names of the fields in evaluation order. */
  evaluationOrder() {
    return this.order.map((id) => this.nodes[id].dotted);
  }

  /**
   * Validates an answer set as of `today` (`YYYY-MM-DD`; today in China Standard Time when not
   * given): every error, the calculated values, the dropped answers and each field's relevance.
   */
  validate(answers, { today } = {}) {
    const day = today === undefined ? chinaToday() : today instanceof DateValue ? today : parseDate(today);
    if (!day) throw new TypeError(`today must be a date YYYY-MM-DD, not ${today}`);
    if (!isObject(answers)) {
      return new ValidationOutcome([fieldError('', 'not_an_object', '答案格式错误 / answers must be a JSON object keyed by field name')], new Map(), [], {});
    }
    const run = new Run(this, day);
    run.root = run.newFrame(answers, this.roots, [], [], '');
    for (const id of this.order) run.visit(id);
    run.constraints();
    const typed = run.calculated(run.root, this.roots);
    run.trimErrors();
    const errors = run.errors.map(([, e]) => e);
    if (run.moreErrors > 0) errors.push(tooManyErrors(run.moreErrors));
    run.dropped.sort((a, b) => compareKeys(a[0], b[0]));
    run.relevance.sort((a, b) => compareKeys(a[0], b[0]));
    const relevant = {};
    for (const [, path, rel] of run.relevance) relevant[path] = rel;
    return new ValidationOutcome(errors, typed, run.dropped.map(([, p]) => p), relevant);
  }
}
