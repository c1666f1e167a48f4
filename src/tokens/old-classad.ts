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
  | { t: 'str'; v: string }
  | { t: 'int'; v: number }
  | { t: 'real'; v: number }
  | { t: 'id'; v: string }
  | { t: 'op'; v: string }
  | { t: 'end' };

const NUMBER = /0[xX][0-9a-fA-F]+|[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?/y;
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const OPS = ['=?=', '=!=', '<<', '>>>', '>>', '||', '&&', '==', '!=', '<=', '>=', '<', '>', '!', '+', '-', '*', '/', '%', '(', ')', '{', '}', '[', ']', ',', '?', ':', '.', ';', '|', '&', '^', '~'];

/**
 * Old ClassAd syntax: inside "..." a backslash is an ordinary character, except that `\"` is a
 * literal quote and the string goes on, unless that quote is the last character of the line (the
 * string then ends, the backslash kept). After `\"` the lexer forgets the backslash, so `\""` is a
 * quote and the end of the string. No escapes are decoded; adjacent literals are not joined. The
 * lexer reads bytes; NUL or the end of the text inside a string is an error.
 */
export function lexOld(src: string): Token[] {
  const s = Buffer.from(src, 'utf8');
  // The same bytes one character each, for matching numbers, names and operators.
  const L = s.toString('latin1');
  const out: Token[] = [];
  let i = 0;
  const at = (k: number) => (k < s.length ? s[k] : -1);
  while (i < s.length) {
    const c = s[i];
    if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) {
      i++;
      continue;
    }
    if (c === 0x22 || c === 0x27) {
      const delim = c;
      const parts: Buffer[] = [];
      i++;
      for (;;) {
        const start = i;
        let q = s.indexOf(delim, i);
        if (q < 0 || s.subarray(start, q).includes(0)) throw new SyntaxError('unterminated string literal');
        // The byte before the quote, within this stretch (after a \" the lexer forgets the backslash).
        const prev = q > start ? s[q - 1] : 0;
        if (prev !== 0x5c) {
          parts.push(s.subarray(start, q));
          i = q + 1;
          break;
        }
        const after = at(q + 1);
        if (after > 0 && after !== 0x0a) {
          parts.push(s.subarray(start, q - 1), Buffer.of(delim)); // \" is a literal quote; the string goes on
          i = q + 1;
          continue;
        }
        parts.push(s.subarray(start, q)); // \" at the end of the line: the string ends with the backslash
        q += 2;
        i = q;
        break;
      }
      const text = Buffer.concat(parts).toString('utf8');
      out.push(delim === 0x22 ? { t: 'str', v: text } : { t: 'id', v: text });
      continue;
    }
    if (c >= 0x30 && c <= 0x39) {
      NUMBER.lastIndex = i;
      const text = NUMBER.exec(L)![0];
      i += text.length;
      if (/^0[xX]/.test(text)) out.push({ t: 'int', v: parseInt(text, 16) });
      else if (/[.eE]/.test(text)) out.push({ t: 'real', v: Number(text) });
      else if (/^0[0-7]+$/.test(text)) out.push({ t: 'int', v: parseInt(text, 8) });
      else out.push({ t: 'int', v: Number(text) });
      continue;
    }
    if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f) {
      NAME.lastIndex = i;
      const name = NAME.exec(L)![0];
      out.push({ t: 'id', v: name });
      i += name.length;
      continue;
    }
    const op = OPS.find((o) => L.startsWith(o, i));
    if (!op) throw new SyntaxError(`unexpected byte 0x${c.toString(16)}`);
    out.push({ t: 'op', v: op });
    i += op.length;
  }
  out.push({ t: 'end' });
  return out;
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

const LEVELS: string[][] = [['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!=', '=?=', '=!='], ['<', '<=', '>', '>='], ['<<', '>>', '>>>'], ['+', '-'], ['*', '/', '%']];

/** Parses one old-syntax expression; throws SyntaxError where HTCondor's parser would fail. */
export function parseOld(src: string): Node {
  const toks = lexOld(src);
  let p = 0;
  const peek = () => toks[p];
  const isOp = (v: string) => peek().t === 'op' && (peek() as { v: string }).v === v;
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
  const binary = (level: number): Node => {
    if (level === LEVELS.length) return unary();
    let l = binary(level + 1);
    for (;;) {
      const t = peek();
      if (t.t !== 'op' || !LEVELS[level].includes(t.v)) return l;
      p++;
      l = { k: 'bin', op: t.v, l, r: binary(level + 1) };
    }
  };
  const unary = (): Node => {
    const t = peek();
    if (t.t === 'op' && ['!', '-', '+', '~'].includes(t.v)) {
      p++;
      return { k: 'un', op: t.v, e: unary() };
    }
    return primary();
  };
  const primary = (): Node => {
    const t = toks[p++];
    switch (t.t) {
      case 'str':
        return { k: 'lit', v: { t: 'str', v: t.v } };
      case 'int':
        return { k: 'lit', v: { t: 'int', v: t.v } };
      case 'real':
        return { k: 'lit', v: { t: 'real', v: t.v } };
      case 'id': {
        const lower = t.v.toLowerCase();
        if (isOp('(')) {
          p++;
          const args: Node[] = [];
          if (!isOp(')')) {
            args.push(cond());
            while (isOp(',')) {
              p++;
              args.push(cond());
            }
          }
          expect(')');
          return { k: 'call', fn: lower, args };
        }
        if (lower === 'true' || lower === 'false') return { k: 'lit', v: { t: 'bool', v: lower === 'true' } };
        if (lower === 'undefined') return { k: 'lit', v: { t: 'undefined' } };
        if (lower === 'error') return { k: 'lit', v: { t: 'error' } };
        return { k: 'attr', name: t.v };
      }
      case 'op':
        if (t.v === '(') {
          const e = cond();
          expect(')');
          return { k: 'paren', e };
        }
        if (t.v === '{') {
          const items: Node[] = [];
          if (!isOp('}')) {
            items.push(cond());
            while (isOp(',')) {
              p++;
              items.push(cond());
            }
          }
          expect('}');
          return { k: 'list', items };
        }
        throw new SyntaxError(`unexpected "${t.v}"`);
      default:
        throw new SyntaxError('unexpected end of expression');
    }
  };
  const tree = cond();
  if (peek().t !== 'end') throw new SyntaxError('text after the expression');
  return tree;
}

/** Nesting depth as HTCondor's evaluator recurses: every operator, parenthesis, call and list is a level. */
export function depthOf(n: Node): number {
  let max = 0;
  const stack: [Node, number][] = [[n, 1]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (d > max) max = d;
    for (const c of children(x)) stack.push([c, d + 1]);
  }
  return max;
}

function children(n: Node): Node[] {
  switch (n.k) {
    case 'paren':
    case 'un':
      return [n.e];
    case 'call':
      return n.args;
    case 'list':
      return n.items;
    case 'bin':
      return [n.l, n.r];
    case 'cond':
      return [n.c, n.a, n.b];
    default:
      return [];
  }
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
      return call(n.fn, n.args.map((a) => evaluate(a, claims)));
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
        if (fn === 'identicalmember' ? identical(x, item) : x.t === 'str' && item.t === 'str' ? x.v.toLowerCase() === item.v.toLowerCase() : isNum(x) && isNum(item) && x.v === item.v) return bool(true);
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
