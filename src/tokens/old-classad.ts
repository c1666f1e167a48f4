/**
 * A model of how an HTCondor collector reads SEC_TOKEN_REVOCATION_EXPR from a config file: the
 * config reader (line joining, trimming, `$` macro forms), then the OLD ClassAd syntax lexer and a
 * parser and evaluator for the expressions glidekey can meet. Written from the rules in
 * shared/docs/htcondor-idtokens.md ("Revocation") and HTCondor's documented semantics; glidekey
 * checks every revocation file with it before writing, and the tests check the encoder against it.
 *
 * It is deliberately stricter than HTCondor where that is the safe side: any `$` that could start a
 * config macro is reported (HTCondor expands only known forms), and an unknown function is an error.
 */

/** One `NAME = value` assignment as HTCondor's config reader sees it. */
export interface ConfigAssignment {
  name: string;
  value: string;
  /** `$` forms in the value that the config reader could expand (`$(X)`, `$ENV(X)`, `$$(X)` ...). */
  macros: string[];
}

/**
 * Reads config text the way HTCondor's reader does: each physical line is trimmed of surrounding
 * white space; a line then ending in `\` is joined with the next; `#` lines are comments (and a
 * comment's trailing `\` does not continue it).
 */
export function readConfig(text: string): ConfigAssignment[] {
  const lines = text.split('\n');
  const out: ConfigAssignment[] = [];
  let i = 0;
  while (i < lines.length) {
    let logical = '';
    let first = true;
    for (;;) {
      const raw = lines[i++] ?? '';
      const line = trimC(raw);
      const comment = line.startsWith('#');
      if (first && comment) {
        logical = line;
        break;
      }
      first = false;
      if (line.endsWith('\\') && i < lines.length) {
        logical += line.slice(0, -1);
        continue;
      }
      logical += line.endsWith('\\') ? line.slice(0, -1) : line;
      break;
    }
    if (logical === '' || logical.startsWith('#')) continue;
    const eq = logical.indexOf('=');
    if (eq < 0) throw new SyntaxError('config line without "="');
    const name = trimC(logical.slice(0, eq));
    const value = trimC(logical.slice(eq + 1));
    out.push({ name, value, macros: configMacros(value) });
  }
  return out;
}

/** C isspace(): what HTCondor's reader trims. */
function isCSpace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\v' || ch === '\f' || ch === '\r';
}

function trimC(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isCSpace(s[a])) a++;
  while (b > a && isCSpace(s[b - 1])) b--;
  return s.slice(a, b);
}

/**
 * The `$` forms the config reader's macro scanner stops at: `$`, an optional second `$`, letters,
 * digits and `_`, then `(`. Whether HTCondor then expands it depends on the name; any such form in
 * a revocation value is treated as a change of meaning.
 */
export function configMacros(value: string): string[] {
  const found: string[] = [];
  const re = /\$\$?[A-Za-z0-9_]*\(/g;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    found.push(m[0]);
    re.lastIndex = m.index + 1;
  }
  return found;
}

// ---------------------------------------------------------------- the old-syntax lexer

export type Token =
  { t: 'str'; v: string } | { t: 'int'; v: number } | { t: 'real'; v: number } | { t: 'id'; v: string } | { t: 'op'; v: string } | { t: 'end' };

const NUMBER = /0[xX][0-9a-fA-F]+|[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?/y;

// Token kinds of the compact token stream the parser reads (parallel arrays, no object per token).
const T_END = 0;
const T_STR = 1;
const T_INT = 2;
const T_REAL = 3;
const T_ID = 4;
const T_OP = 5;

interface TokenStream {
  kinds: number[];
  /** The text of a str/id/op token, the number of an int/real one. */
  vals: (string | number)[];
}

/** The first UTF-8 byte of the character at `i` (what the byte lexer reports). */
function firstByte(src: string, i: number): number {
  const c = src.charCodeAt(i);
  return c < 0x80 ? c : Buffer.from(String.fromCodePoint(src.codePointAt(i)!), 'utf8')[0];
}

/** The operator at `i` (longest match), or undefined. */
function opAt(src: string, i: number): string | undefined {
  const c = src.charCodeAt(i);
  const n = src.charCodeAt(i + 1);
  switch (c) {
    case 0x3d: // =
      if (n === 0x3f && src.charCodeAt(i + 2) === 0x3d) return '=?=';
      if (n === 0x21 && src.charCodeAt(i + 2) === 0x3d) return '=!=';
      return n === 0x3d ? '==' : undefined;
    case 0x3c: // <
      return n === 0x3c ? '<<' : n === 0x3d ? '<=' : '<';
    case 0x3e: // >
      if (n === 0x3e) return src.charCodeAt(i + 2) === 0x3e ? '>>>' : '>>';
      return n === 0x3d ? '>=' : '>';
    case 0x7c: // |
      return n === 0x7c ? '||' : '|';
    case 0x26: // &
      return n === 0x26 ? '&&' : '&';
    case 0x21: // !
      return n === 0x3d ? '!=' : '!';
    case 0x2c:
      return ',';
    case 0x28:
      return '(';
    case 0x29:
      return ')';
    case 0x7b:
      return '{';
    case 0x7d:
      return '}';
    case 0x2b:
      return '+';
    case 0x2d:
      return '-';
    case 0x2a:
      return '*';
    case 0x2f:
      return '/';
    case 0x25:
      return '%';
    case 0x5b:
      return '[';
    case 0x5d:
      return ']';
    case 0x3f:
      return '?';
    case 0x3a:
      return ':';
    case 0x2e:
      return '.';
    case 0x3b:
      return ';';
    case 0x5e:
      return '^';
    case 0x7e:
      return '~';
    default:
      return undefined;
  }
}

/**
 * The lexer proper, over the text's characters. It reads exactly what a byte lexer over the UTF-8
 * encoding reads: every character it acts on (quotes, backslash, NUL, line feed, white space,
 * names, numbers, operators) is ASCII, and no byte of a multi-byte UTF-8 sequence is ASCII. The
 * one difference, a lone surrogate (which UTF-8 encodes as U+FFFD), is removed first the same way.
 */
function lexStream(text: string): TokenStream {
  // A surrogate at all (rare): read the text through UTF-8 as the byte lexer does, so a lone half
  // becomes U+FFFD exactly as there (a well-formed pair comes back unchanged).
  const src = /[\uD800-\uDFFF]/.test(text) ? Buffer.from(text, 'utf8').toString('utf8') : text;
  const len = src.length;
  const kinds: number[] = [];
  const vals: (string | number)[] = [];
  // The next NUL at or after the read position (len + 1 when there is none).
  let nul = src.indexOf('\0');
  if (nul < 0) nul = len + 1;
  let i = 0;
  while (i < len) {
    const c = src.charCodeAt(i);
    if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) {
      i++;
      continue;
    }
    if (c === 0x22 || c === 0x27) {
      const delim = c === 0x22 ? '"' : "'";
      let value = '';
      i++;
      for (;;) {
        const start = i;
        let q = src.indexOf(delim, i);
        if (nul < start) {
          nul = src.indexOf('\0', start);
          if (nul < 0) nul = len + 1;
        }
        if (q < 0 || nul < q) throw new SyntaxError('unterminated string literal');
        // The character before the quote, within this stretch (after a \" the lexer forgets the backslash).
        if (q === start || src.charCodeAt(q - 1) !== 0x5c) {
          value += src.slice(start, q);
          i = q + 1;
          break;
        }
        const after = q + 1 < len ? src.charCodeAt(q + 1) : -1;
        if (after > 0 && after !== 0x0a) {
          value += src.slice(start, q - 1) + delim; // \" is a literal quote; the string goes on
          i = q + 1;
          continue;
        }
        value += src.slice(start, q); // \" at the end of the line: the string ends with the backslash
        q += 2;
        i = q;
        break;
      }
      kinds.push(delim === '"' ? T_STR : T_ID);
      vals.push(value);
      continue;
    }
    if (c >= 0x30 && c <= 0x39) {
      NUMBER.lastIndex = i;
      const t = NUMBER.exec(src)![0];
      i += t.length;
      const real = !/^0[xX]/.test(t) && /[.eE]/.test(t);
      kinds.push(real ? T_REAL : T_INT);
      vals.push(/^0[xX]/.test(t) ? parseInt(t, 16) : real ? Number(t) : /^0[0-7]+$/.test(t) ? parseInt(t, 8) : Number(t));
      continue;
    }
    if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f) {
      const start = i++;
      for (; i < len; i++) {
        const d = src.charCodeAt(i);
        if (!((d >= 0x41 && d <= 0x5a) || (d >= 0x61 && d <= 0x7a) || d === 0x5f || (d >= 0x30 && d <= 0x39))) break;
      }
      kinds.push(T_ID);
      vals.push(src.slice(start, i));
      continue;
    }
    const op = opAt(src, i);
    if (op === undefined) throw new SyntaxError(`unexpected byte 0x${firstByte(src, i).toString(16)}`);
    kinds.push(T_OP);
    vals.push(op);
    i += op.length;
  }
  kinds.push(T_END);
  vals.push('');
  return { kinds, vals };
}

/**
 * Old ClassAd syntax: inside "..." a backslash is an ordinary character, except that `\"` is a
 * literal quote and the string goes on, unless that quote is the last character of the line (the
 * string then ends, the backslash kept). After `\"` the lexer forgets the backslash, so `\""` is a
 * quote and the end of the string. No escapes are decoded; adjacent literals are not joined. The
 * lexer reads bytes; NUL or the end of the text inside a string is an error.
 */
export function lexOld(src: string): Token[] {
  const { kinds, vals } = lexStream(src);
  const names = ['end', 'str', 'int', 'real', 'id', 'op'] as const;
  return kinds.map((k, j) => (k === T_END ? { t: 'end' } : ({ t: names[k], v: vals[j] } as Token)));
}

// ---------------------------------------------------------------- the parser

export type Node =
  | { k: 'lit'; v: Value }
  | { k: 'attr'; name: string }
  | { k: 'paren'; e: Node }
  | { k: 'call'; fn: string; args: Node[] }
  | { k: 'list'; items: Node[] }
  | { k: 'bin'; op: string; l: Node; r: Node }
  | { k: 'un'; op: string; e: Node }
  | { k: 'cond'; c: Node; a: Node; b: Node };

export type Value =
  | { t: 'undefined' }
  | { t: 'error' }
  | { t: 'bool'; v: boolean }
  | { t: 'int'; v: number }
  | { t: 'real'; v: number }
  | { t: 'str'; v: string }
  | { t: 'list'; v: Value[] };

/**
 * The binary operators by precedence, loosest first: || && | ^ & (== != =?= =!=) (< <= > >=)
 * (<< >> >>>) (+ -) (* / %), all left-associative. -1 for anything else.
 */
function levelOf(op: string): number {
  switch (op) {
    case '||':
      return 0;
    case '&&':
      return 1;
    case '|':
      return 2;
    case '^':
      return 3;
    case '&':
      return 4;
    case '==':
    case '!=':
    case '=?=':
    case '=!=':
      return 5;
    case '<':
    case '<=':
    case '>':
    case '>=':
      return 6;
    case '<<':
    case '>>':
    case '>>>':
      return 7;
    case '+':
    case '-':
      return 8;
    case '*':
    case '/':
    case '%':
      return 9;
    default:
      return -1;
  }
}

/** Parses one old-syntax expression; throws SyntaxError where HTCondor's parser would fail. */
export function parseOld(src: string): Node {
  const { kinds, vals } = lexStream(src);
  let p = 0;
  const isOp = (v: string) => kinds[p] === T_OP && vals[p] === v;
  const expect = (v: string) => {
    if (!isOp(v)) throw new SyntaxError(`expected "${v}"`);
    p++;
  };
  const cond = (): Node => {
    const c = binary(0);
    if (!isOp('?')) return c;
    p++;
    const a = cond();
    expect(':');
    return { k: 'cond', c, a, b: cond() };
  };
  // Precedence climbing: the same left-associative tree as one function per level, without
  // descending through every level for each operand.
  const binary = (min: number): Node => {
    let l = unary();
    for (;;) {
      if (kinds[p] !== T_OP) return l;
      const op = vals[p] as string;
      const level = levelOf(op);
      if (level < min) return l;
      p++;
      l = { k: 'bin', op, l, r: binary(level + 1) };
    }
  };
  const unary = (): Node => {
    if (kinds[p] === T_OP) {
      const op = vals[p] as string;
      if (op === '!' || op === '-' || op === '+' || op === '~') {
        p++;
        return { k: 'un', op, e: unary() };
      }
    }
    return primary();
  };
  // One item: a string literal followed by `,` or the closing bracket (every jti) is what cond()
  // would return for it, read without descending through cond, binary, unary and primary.
  const item = (close: string): Node => {
    if (kinds[p] === T_STR && kinds[p + 1] === T_OP && (vals[p + 1] === ',' || vals[p + 1] === close))
      return { k: 'lit', v: { t: 'str', v: vals[p++] as string } };
    return cond();
  };
  const items = (close: string): Node[] => {
    const out: Node[] = [];
    if (!isOp(close)) {
      out.push(item(close));
      while (isOp(',')) {
        p++;
        out.push(item(close));
      }
    }
    expect(close);
    return out;
  };
  const primary = (): Node => {
    const k = kinds[p];
    const v = vals[p++];
    switch (k) {
      case T_STR:
        return { k: 'lit', v: { t: 'str', v: v as string } };
      case T_INT:
        return { k: 'lit', v: { t: 'int', v: v as number } };
      case T_REAL:
        return { k: 'lit', v: { t: 'real', v: v as number } };
      case T_ID: {
        const name = v as string;
        const lower = name.toLowerCase();
        if (isOp('(')) {
          p++;
          return { k: 'call', fn: lower, args: items(')') };
        }
        if (lower === 'true' || lower === 'false') return { k: 'lit', v: { t: 'bool', v: lower === 'true' } };
        if (lower === 'undefined') return { k: 'lit', v: { t: 'undefined' } };
        if (lower === 'error') return { k: 'lit', v: { t: 'error' } };
        return { k: 'attr', name };
      }
      case T_OP:
        if (v === '(') {
          const e = cond();
          expect(')');
          return { k: 'paren', e };
        }
        if (v === '{') return { k: 'list', items: items('}') };
        throw new SyntaxError(`unexpected "${v}"`);
      default:
        throw new SyntaxError('unexpected end of expression');
    }
  };
  const tree = cond();
  if (kinds[p] !== T_END) throw new SyntaxError('text after the expression');
  return tree;
}

/** Nesting depth as HTCondor's evaluator recurses: every operator, parenthesis, call and list is a level. */
export function depthOf(n: Node): number {
  let max = 0;
  const nodes: Node[] = [n];
  const depths: number[] = [1];
  while (nodes.length) {
    const x = nodes.pop()!;
    const d = depths.pop()!;
    if (d > max) max = d;
    const next = d + 1;
    switch (x.k) {
      case 'paren':
      case 'un':
        nodes.push(x.e);
        depths.push(next);
        break;
      case 'call':
      case 'list': {
        const kids = x.k === 'call' ? x.args : x.items;
        for (let j = 0; j < kids.length; j++) {
          const c = kids[j];
          // A leaf adds only its own level: no need to stack it.
          if (c.k === 'lit' || c.k === 'attr') {
            if (next > max) max = next;
          } else {
            nodes.push(c);
            depths.push(next);
          }
        }
        break;
      }
      case 'bin':
        nodes.push(x.l, x.r);
        depths.push(next, next);
        break;
      case 'cond':
        nodes.push(x.c, x.a, x.b);
        depths.push(next, next, next);
        break;
    }
  }
  return max;
}

// ---------------------------------------------------------------- the evaluator

const UNDEF: Value = { t: 'undefined' };
const ERR: Value = { t: 'error' };
const bool = (v: boolean): Value => ({ t: 'bool', v });

/** The claims HTCondor puts in the ad: strings, integers, doubles and booleans (arrays and objects are left out). */
export type Claims = Record<string, unknown>;

function claimValue(claims: Claims, name: string): Value {
  const key = Object.keys(claims).find((k) => k.toLowerCase() === name.toLowerCase());
  if (key === undefined) return UNDEF;
  const v = claims[key];
  if (typeof v === 'string') return { t: 'str', v };
  if (typeof v === 'boolean') return bool(v);
  if (typeof v === 'number') return Number.isInteger(v) ? { t: 'int', v } : { t: 'real', v };
  return UNDEF;
}

function identical(a: Value, b: Value): boolean {
  if (a.t !== b.t) return false;
  switch (a.t) {
    case 'undefined':
    case 'error':
      return true;
    case 'list':
      return false;
    default:
      return (a as { v: unknown }).v === (b as { v: unknown }).v;
  }
}

function isNum(v: Value): v is { t: 'int' | 'real'; v: number } {
  return v.t === 'int' || v.t === 'real';
}

const constantLists = new WeakMap<Node, Value>();

/** Evaluates an expression against a token's claims with ClassAd's three-valued logic. */
export function evaluate(n: Node, claims: Claims): Value {
  switch (n.k) {
    case 'lit':
      return n.v;
    case 'attr':
      return claimValue(claims, n.name);
    case 'paren':
      return evaluate(n.e, claims);
    case 'list': {
      // A list of literals (the jti list) is evaluated once, not per token.
      const cached = constantLists.get(n);
      if (cached) return cached;
      const v: Value = { t: 'list', v: n.items.map((x) => evaluate(x, claims)) };
      if (n.items.every((x) => x.k === 'lit')) constantLists.set(n, v);
      return v;
    }
    case 'un': {
      const v = evaluate(n.e, claims);
      if (v.t === 'undefined' || v.t === 'error') return v;
      if (n.op === '!') return v.t === 'bool' ? bool(!v.v) : ERR;
      if (n.op === '-' && isNum(v)) return { t: v.t, v: -v.v };
      if (n.op === '+' && isNum(v)) return v;
      return ERR;
    }
    case 'cond': {
      const c = evaluate(n.c, claims);
      if (c.t === 'bool') return evaluate(c.v ? n.a : n.b, claims);
      return c.t === 'undefined' ? UNDEF : ERR;
    }
    case 'bin':
      return binaryOp(n.op, n.l, n.r, claims);
    case 'call':
      return call(
        n.fn,
        n.args.map((a) => evaluate(a, claims)),
      );
  }
}

function binaryOp(op: string, ln: Node, rn: Node, claims: Claims): Value {
  if (op === '||' || op === '&&') {
    const l = evaluate(ln, claims);
    const short = op === '||';
    if (l.t === 'bool' && l.v === short) return bool(short);
    if (l.t !== 'bool' && l.t !== 'undefined') return ERR;
    const r = evaluate(rn, claims);
    if (r.t === 'bool') {
      if (r.v === short) return bool(short);
      return l.t === 'undefined' ? UNDEF : bool(!short);
    }
    if (r.t === 'undefined') return UNDEF;
    return ERR;
  }
  const l = evaluate(ln, claims);
  const r = evaluate(rn, claims);
  if (op === '=?=') return bool(identical(l, r));
  if (op === '=!=') return bool(!identical(l, r));
  if (l.t === 'error' || r.t === 'error') return ERR;
  if (l.t === 'undefined' || r.t === 'undefined') return UNDEF;
  if (['<', '<=', '>', '>=', '==', '!='].includes(op)) {
    let cmp: number;
    if (isNum(l) && isNum(r)) cmp = l.v - r.v;
    else if (l.t === 'str' && r.t === 'str') cmp = l.v.toLowerCase() < r.v.toLowerCase() ? -1 : l.v.toLowerCase() > r.v.toLowerCase() ? 1 : 0;
    else if (l.t === 'bool' && r.t === 'bool' && (op === '==' || op === '!=')) cmp = l.v === r.v ? 0 : 1;
    else return ERR;
    const res = { '<': cmp < 0, '<=': cmp <= 0, '>': cmp > 0, '>=': cmp >= 0, '==': cmp === 0, '!=': cmp !== 0 }[op]!;
    return bool(res);
  }
  if (isNum(l) && isNum(r)) {
    const real = l.t === 'real' || r.t === 'real';
    switch (op) {
      case '+':
        return { t: real ? 'real' : 'int', v: l.v + r.v };
      case '-':
        return { t: real ? 'real' : 'int', v: l.v - r.v };
      case '*':
        return { t: real ? 'real' : 'int', v: l.v * r.v };
      case '/':
        if (r.v === 0) return ERR;
        return real ? { t: 'real', v: l.v / r.v } : { t: 'int', v: Math.trunc(l.v / r.v) };
    }
  }
  return ERR;
}

function stringOf(v: Value): string | undefined {
  if (v.t === 'str') return v.v;
  if (v.t === 'int') return String(v.v);
  if (v.t === 'bool') return v.v ? 'true' : 'false';
  return undefined;
}

function call(fn: string, args: Value[]): Value {
  switch (fn) {
    case 'strcat': {
      if (args.some((a) => a.t === 'error')) return ERR;
      if (args.some((a) => a.t === 'undefined')) return UNDEF;
      let out = '';
      for (const a of args) {
        const s = stringOf(a);
        if (s === undefined) return ERR;
        out += s;
      }
      return { t: 'str', v: out };
    }
    case 'substr': {
      // Perl-like and counted in bytes: HTCondor's substr works on the UTF-8 bytes.
      if (args.length < 2 || args.length > 3) return ERR;
      if (args.some((a) => a.t === 'undefined')) return UNDEF;
      const [s, o, l] = args;
      if (s.t !== 'str' || o.t !== 'int' || (l !== undefined && l.t !== 'int')) return ERR;
      const b = Buffer.from(s.v, 'utf8');
      const alen = b.length;
      let off = o.v;
      if (off < 0) off = Math.max(0, alen + off);
      else if (off >= alen) off = alen;
      let len = l === undefined ? 0 : (l as { v: number }).v;
      const explicitZero = l !== undefined && len === 0;
      if (len <= 0) len = Math.max(0, alen - off + len);
      else if (len > alen - off) len = alen - off;
      if (explicitZero) len = 0;
      return { t: 'str', v: b.subarray(off, off + len).toString('utf8') };
    }
    case 'formattime': {
      // Only the strftime conversions glidekey writes (%n, %t, %%): strftime's output for them does
      // not depend on the time or the locale.
      if (args.length !== 2 || args[0].t !== 'int' || args[1].t !== 'str') return ERR;
      const f = args[1].v;
      if (!/^(%[nt%])*$/.test(f)) return ERR;
      return { t: 'str', v: f.replace(/%([nt%])/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : '%')) };
    }
    case 'identicalmember':
    case 'member': {
      if (args.length !== 2) return ERR;
      const [x, list] = args;
      if (list.t === 'undefined' || (fn === 'member' && x.t === 'undefined')) return UNDEF;
      if (list.t !== 'list' || x.t === 'list') return ERR;
      if (fn === 'member' && x.t === 'error') return ERR;
      for (const item of list.v) {
        if (
          fn === 'identicalmember'
            ? identical(x, item)
            : x.t === 'str' && item.t === 'str'
              ? x.v.toLowerCase() === item.v.toLowerCase()
              : isNum(x) && isNum(item) && x.v === item.v
        )
          return bool(true);
      }
      return bool(false);
    }
    case 'isstring':
      return args.length === 1 ? bool(args[0].t === 'str') : ERR;
    case 'isundefined':
      return args.length === 1 ? bool(args[0].t === 'undefined') : ERR;
    default:
      return ERR;
  }
}

/**
 * What HTCondor does with a token given the expression: revoked unless it evaluates to false (a
 * number counts as a boolean; UNDEFINED, ERROR and anything else revoke).
 */
export function revokes(n: Node, claims: Claims): boolean {
  const v = evaluate(n, claims);
  if (v.t === 'bool') return v.v;
  if (isNum(v)) return v.v !== 0;
  return true;
}
