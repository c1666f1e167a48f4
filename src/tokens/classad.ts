/**
 * A ClassAd string literal: backslash and double quote escaped, control characters as octal
 * escapes, so no subject can end the string early or break the expression's parse (a parse error
 * would disable SEC_TOKEN_REVOCATION_EXPR altogether), and no '$' appears literally. NUL cannot be written in a ClassAd string
 * (HTCondor rejects a \0 escape), so a string holding one is refused.
 */
export function classAdString(s: string): string {
  if (s.includes('\0')) throw new RangeError('a ClassAd string cannot hold NUL');
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    // HTCondor expands $(...) in config values before parsing the ClassAd: an octal escape keeps a
    // subject's '$' literal in the revocation file (and is still the same character to the parser).
    else if (ch === '$') out += '\\044';
    else if (c < 0x20 || c === 0x7f) out += '\\' + c.toString(8).padStart(3, '0');
    else out += ch;
  }
  return out + '"';
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
 * A SEC_TOKEN_REVOCATION_EXPR value revoking these tokens. `=?=` is meta-equality: it is false,
 * never UNDEFINED, for a token without the claim (HTCondor treats UNDEFINED as revoked).
 * An empty list revokes nothing.
 */
export function revocationExpr(tokens: RevokedToken[], subjects: RevokedSubject[] = []): string {
  const terms = [
    ...tokens.map((t) => `jti =?= ${classAdString(t.jti)}`),
    ...subjects.map((s) => `(sub =?= ${classAdString(s.subject)} && iat <= ${Math.trunc(s.issuedBefore)})`),
  ];
  return terms.length ? terms.join(' || ') : 'false';
}
