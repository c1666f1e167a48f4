/**
 * What a credential looks like, so that no caller-chosen identifier (a request id, a path
 * parameter, an audit target) ever carries one: glidekey API keys, tickets and glidein renewal
 * credentials, JWTs (IDTOKENs, SciTokens), and long random-looking base64 or hex runs (someone
 * else's secret). Plain names (sites, entries, hosts, jtis, UUIDs) do not match.
 */
export function looksLikeCredential(value: string): boolean {
  if (hasCredentialForm(value)) return true;
  for (const run of value.match(/[A-Za-z0-9+/=_-]{24,}/g) ?? []) if (randomLooking(run)) return true;
  return false;
}

/**
 * The forms a credential has for certain (never a name): a glidekey API key, ticket (gkt_) or
 * renewal credential (gkr_), whole or its start; a JWT; 160 bits or more in hex. Names and path
 * parameters of these forms are refused.
 */
export function hasCredentialForm(value: string): boolean {
  if (/gk[tr]?_[0-9a-f]{16}/.test(value)) return true;
  if (/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/.test(value)) return true; // base64url of '{"', then a second part
  if (/[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}/.test(value)) return true; // header.payload.signature
  return /[0-9a-fA-F]{40,}/.test(value);
}

const classOf = (c: string) => (c >= 'A' && c <= 'Z' ? 'U' : c >= 'a' && c <= 'z' ? 'L' : c >= '0' && c <= '9' ? 'D' : 'O');

/**
 * Base64 of random bytes, as far as a look can tell (a best effort: glidekey's own credentials and
 * JWTs are recognised above by their form): upper case, lower case and digits all present, the
 * class changing at most characters (about 2 in 3 for random base64, between words only for a
 * name; separators are skipped, so `CMS_T2_US_Nebraska` reads as words), and not CamelCase (where
 * nearly every capital starts a lower-case word).
 */
function randomLooking(run: string): boolean {
  const s = [...run.replace(/[_\-+/=]/g, '')].map(classOf);
  if (s.length < 20 || !s.includes('U') || !s.includes('L') || !s.includes('D')) return false;
  let changes = 0;
  let capitals = 0;
  let words = 0;
  for (let i = 1; i < s.length; i++) if (s[i] !== s[i - 1]) changes++;
  for (let i = 0; i < s.length - 1; i++) {
    if (s[i] !== 'U') continue;
    capitals++;
    if (s[i + 1] === 'L') words++;
  }
  return changes / (s.length - 1) >= 0.38 && words < 0.9 * capitals;
}
