import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A small model of what an unmodified GlideinWMS frontend element does to get the IDTOKEN it
 * advertises for one factory entry, written from ../../shared/docs/glideinwms-integration.md
 * (not from GlideinWMS's code):
 * - the token file is `<home>/tokens.d/<group>.<Glidein_Site>.idtoken`; the key is
 *   `<home>/passwords.d/<site>`, else `<home>/passwords.d/<idtoken_keyname>`; the frontend makes
 *   both directories (0700) when they are missing;
 * - a token file whose mtime is at most 3600 s old is used as it is;
 * - an older one (or none) with a key present is replaced by a token the frontend mints itself;
 * - an older one with no key is read anyway; with neither, there is nothing;
 * - what was read is advertised only if it is a JWT whose `exp` is ahead and `nbf` behind.
 */
export const REUSE_WINDOW_SECONDS = 3600;

export type FrontendAction = 'reuse' | 'mint' | 'stale-read' | 'none';

export interface FrontendRead {
  action: FrontendAction;
  /** The file's content as the frontend reads it (text, whole), or null. */
  token: string | null;
  ageSeconds: number | null;
  /** Whether the frontend would advertise it (a JWT not expired and already valid). */
  advertised: boolean;
  path: string;
}

export function frontendReadsIdtoken(home: string, group: string, site: string, nowMs = Date.now(), keyName = 'FRONTEND'): FrontendRead {
  const tokens = join(home, 'tokens.d');
  const passwords = join(home, 'passwords.d');
  for (const d of [tokens, passwords]) if (!existsSync(d)) mkdirSync(d, { mode: 0o700 });
  const path = join(tokens, `${group}.${site}.idtoken`);
  const hasKey = existsSync(join(passwords, site)) || existsSync(join(passwords, keyName));
  const age = existsSync(path) ? (nowMs - statSync(path).mtimeMs) / 1000 : null;
  if ((age === null || age > REUSE_WINDOW_SECONDS) && hasKey) return { action: 'mint', token: null, ageSeconds: age, advertised: false, path };
  if (age === null) return { action: 'none', token: null, ageSeconds: null, advertised: false, path };
  const token = readFileSync(path, 'utf8');
  return { action: age <= REUSE_WINDOW_SECONDS ? 'reuse' : 'stale-read', token, ageSeconds: age, advertised: notExpired(token, nowMs), path };
}

/** The frontend's expiry check: the claims only (no signature), `exp` ahead and `nbf` behind when present. */
export function notExpired(token: string, nowMs = Date.now()): boolean {
  const parts = token.trim().split('.');
  if (parts.length !== 3) return false;
  try {
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { exp?: number; nbf?: number };
    const now = nowMs / 1000;
    return (claims.exp === undefined || claims.exp > now) && (claims.nbf === undefined || claims.nbf <= now);
  } catch {
    return false;
  }
}

/** The `jti` of a token (for comparing with what the REST API names). */
export const jtiOf = (token: string): string | undefined => {
  try {
    return (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { jti?: string }).jti;
  } catch {
    return undefined;
  }
};
