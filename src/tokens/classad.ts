/**
 * SEC_TOKEN_REVOCATION_EXPR in the dialect HTCondor really reads it: a config-file value parsed as
 * an OLD-syntax ClassAd (shared/docs/htcondor-idtokens.md, "Revocation"). In an old-syntax string
 * a backslash is ordinary, `\"` is a quote, nothing is decoded, and the config reader has expanded
 * `$(...)` forms before the parser sees the line. So a string is written as pieces that cannot be
 * misread:
 * - a piece ends right after every `$`, so a `$` is always followed by the closing quote and never
 *   starts a config macro (`$(X)`, `$ENV(X)`, `$$(X)`, `$(DOLLAR)` ...);
 * - `"` is written `\"` (a backslash before it stays a plain backslash: `\\"` reads as `\"`);
 * - a piece ending in `\` (which would turn its closing quote into a literal one) is written with a
 *   sentinel byte that `substr(..., 0, -1)` drops;
 * - a line feed, which no config line can hold, is `formatTime(0, "%n")` (strftime's newline);
 * - more than one piece is joined by `strcat(...)`.
 * NUL is the one character that cannot reach HTCondor's expression at all (config lines are C
 * strings, and no ClassAd function makes one): it is refused.
 */

/** Thrown for a string no revocation file can express; the caller maps it to a 400. */
export class UnrepresentableString extends RangeError {}

const LF_PIECE = 'formatTime(0, "%n")';
// With the u flag a surrogate pair is one code point, so this matches only an unpaired half.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
/** The characters that need more than a plain literal. */
const SPECIAL = /["\\$\n]/;
/** Anything that needs more than a plain literal, or a closer look (NUL, any surrogate). */
const NOT_PLAIN = /["\\$\n\0\uD800-\uDFFF]/;

/** Whether `s` can be written as an old-syntax ClassAd string expression. */
export function representable(s: string): boolean {
  return !s.includes('\0') && !LONE_SURROGATE.test(s);
}

/** An old-syntax ClassAd expression whose value is exactly `s`. */
export function oldClassAdString(s: string): string {
  // The common case (every hex jti): one scan, no special character, written as it is.
  if (!NOT_PLAIN.test(s)) return `"${s}"`;
  if (s.includes('\0')) throw new UnrepresentableString('a NUL character cannot be written in an HTCondor config value');
  if (LONE_SURROGATE.test(s)) throw new UnrepresentableString('the string is not valid Unicode (a lone surrogate)');
  if (!SPECIAL.test(s)) return `"${s}"`;
  const pieces: string[] = [];
  let seg = '';
  const flush = () => {
    if (seg === '') return;
    const body = seg.replaceAll('"', '\\"');
    pieces.push(seg.endsWith('\\') ? `substr("${body}.", 0, -1)` : `"${body}"`);
    seg = '';
  };
  for (const ch of s) {
    if (ch === '\n') {
      flush();
      pieces.push(LF_PIECE);
      continue;
    }
    seg += ch;
    if (ch === '$') flush();
  }
  flush();
  if (pieces.length === 0) return '""';
  return pieces.length === 1 ? pieces[0] : `strcat(${pieces.join(', ')})`;
}

export interface RevokedToken {
  jti: string;
}

export interface RevokedSubject {
  subject: string;
  /** Unix seconds: tokens of this subject issued at or before it are revoked. */
  issuedBefore: number;
}

/**
 * The deepest nesting revocationExpr produces is 2 * ceil(log2(subjects)) + 8 in the model's
 * count (shared/docs: HTCondor 25.13.2+ gives ERROR, so revokes everything, at 400): 28 for 1,000
 * subject rules, 48 for a million. Files are checked against this before they are written.
 */
export const MAX_EXPR_DEPTH = 64;

/** One subject rule per subject: a token of that subject is revoked when issued at or before the latest cutoff. */
export function mergeSubjects(subjects: RevokedSubject[]): RevokedSubject[] {
  const latest = new Map<string, number>();
  for (const s of subjects) latest.set(s.subject, Math.max(latest.get(s.subject) ?? -Infinity, Math.trunc(s.issuedBefore)));
  return [...latest].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([subject, issuedBefore]) => ({ subject, issuedBefore }));
}

/**
 * A SEC_TOKEN_REVOCATION_EXPR value revoking these tokens and subjects:
 * `identicalMember(jti, {...}) || <balanced || tree of (sub =?= S && iat <= N)>` (`jti =?= J` for one jti).
 * identicalMember compares like `=?=` (case-sensitive, false for a token without a jti) and keeps
 * any number of jtis one level deep; the subject rules form a balanced tree, so the depth grows
 * with the logarithm of their number instead of reaching HTCondor's limit of 400 as a flat chain
 * does. `=?=` never yields UNDEFINED, so a token without `sub` is not revoked by a subject rule.
 * An empty set revokes nothing: `false`.
 */
export function revocationExpr(tokens: RevokedToken[], subjects: RevokedSubject[] = []): string {
  const jtis = sortedDistinct(tokens.map((t) => t.jti));
  const terms: string[] = [];
  // One jti keeps the `jti =?= "..."` form collectors already run with; more go in one list.
  if (jtis.length === 1) terms.push(`jti =?= ${oldClassAdString(jtis[0])}`);
  else if (jtis.length) {
    // The common case, jtis without any character that needs care (the joined text shows it in
    // one scan: the separator is not one of them): each is a plain literal, written in one join.
    const list = NOT_PLAIN.test(jtis.join(',')) ? jtis.map(oldClassAdString).join(', ') : `"${jtis.join('", "')}"`;
    terms.push(`identicalMember(jti, {${list}})`);
  }
  const rules = mergeSubjects(subjects).map((s) => `(sub =?= ${oldClassAdString(s.subject)} && iat <= ${s.issuedBefore})`);
  if (rules.length) terms.push(balancedOr(rules));
  return terms.length ? terms.join(' || ') : 'false';
}

/** The distinct strings in code-unit order (what `[...new Set(a)].sort()` gives, without hashing each one). */
export function sortedDistinct(a: string[]): string[] {
  const sorted = a.sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[n - 1]) sorted[n++] = sorted[i];
  sorted.length = n;
  return sorted;
}

function balancedOr(terms: string[]): string {
  if (terms.length === 1) return terms[0];
  const mid = Math.ceil(terms.length / 2);
  return `(${balancedOr(terms.slice(0, mid))} || ${balancedOr(terms.slice(mid))})`;
}
