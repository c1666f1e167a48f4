import { iso } from '../common/time.js';
import { CachedCredential, groupsOf } from './cached-credential.entity.js';
import type { WithdrawnCredential } from './withdrawn-credential.entity.js';

export type CacheState = 'valid' | 'expiring' | 'expired' | 'missing' | 'withdrawn';

/** The factory's credential cache as admins see it: never a credential, only its state and fingerprint. */
export const cacheResponse = (c: CachedCredential, state: CacheState, nowMs: number) => ({
  frontend: c.frontend,
  entry: c.entry,
  type: c.type,
  state,
  version: c.version,
  fingerprint: c.fingerprint,
  expiresAt: iso(c.expiresAt),
  secondsToExpiry: Math.max(0, Math.floor((c.expiresAt - nowMs) / 1000)),
  receivedAt: iso(c.receivedAt),
  /** The frontend groups it serves: one cache file each. */
  groups: groupsOf(c),
});

/** A withdrawn credential's tombstone: when, which version, and why; nothing of the credential. */
export const withdrawnResponse = (w: WithdrawnCredential) => ({
  frontend: w.frontend,
  entry: w.entry,
  type: w.type,
  state: 'withdrawn' as const,
  version: w.version,
  fingerprint: null,
  expiresAt: null,
  secondsToExpiry: null,
  receivedAt: null,
  withdrawnAt: iso(w.withdrawnAt),
  reason: w.reason,
});
