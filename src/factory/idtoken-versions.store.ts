import { EntityManager, LessThanOrEqual } from 'typeorm';
import { hashSecret } from '../auth/api-key.secret.js';
import { IdtokenVersion } from './idtoken-version.entity.js';

/** Versions kept per frontend and entry: the current one and the two before it (each while unexpired). */
export const KEPT_VERSIONS = 3;

/**
 * Called by the intake in its transaction for each IDTOKEN it caches: SHA-256 of the exact bytes
 * the frontend sent (what the factory's cache file holds and GlideinWMS ships), then the versions
 * beyond KEPT_VERSIONS dropped.
 */
export async function recordIdtokenVersion(m: EntityManager, id: string, c: { frontend: string; entry: string; version: number; expiresAt: number; receivedAt: number }, value: string): Promise<void> {
  await m.insert(IdtokenVersion, { id, frontend: c.frontend, entry: c.entry, version: c.version, tokenHash: hashSecret(value), expiresAt: c.expiresAt, receivedAt: c.receivedAt, bootstraps: 0 });
  const kept = await m.find(IdtokenVersion, { select: { id: true }, where: { frontend: c.frontend, entry: c.entry }, order: { version: 'DESC', receivedAt: 'DESC' }, skip: KEPT_VERSIONS });
  if (kept.length) await m.delete(IdtokenVersion, kept.map((k) => k.id));
}

/** A withdrawal (or the entry's deletion): no version up to `version` bootstraps any more. */
export async function forgetIdtokenVersions(m: EntityManager, where: { frontend?: string; entry: string; upTo?: number }): Promise<void> {
  await m.delete(IdtokenVersion, { ...(where.frontend ? { frontend: where.frontend } : {}), entry: where.entry, ...(where.upTo !== undefined ? { version: LessThanOrEqual(where.upTo) } : {}) });
}

/** A deleted frontend's versions go with its cache. */
export async function forgetFrontendIdtokenVersions(m: EntityManager, frontend: string): Promise<void> {
  await m.delete(IdtokenVersion, { frontend });
}

/** Expired versions can never bootstrap: deleted by the renewal purge. */
export async function purgeExpiredIdtokenVersions(m: EntityManager, now: number): Promise<number> {
  return (await m.createQueryBuilder().delete().from(IdtokenVersion).where('expires_at <= :now', { now }).execute()).affected ?? 0;
}

/**
 * Counts one more renewal chain started by this version, while it is unexpired and under `max`
 * (conditional update: concurrent bootstraps never push it past; it changes one row or none). The
 * statement for a batched spend (SpendWriter), `now` the time of the write.
 */
export const bootstrapSpend = (id: string, max: number) => (now: number) => ({
  sql: 'UPDATE idtoken_versions SET bootstraps = bootstraps + 1 WHERE id = ? AND bootstraps < ? AND expires_at > ?',
  params: [id, max, now],
});

/** How many chains the version has started (null once it is gone). */
export async function bootstrapsOf(m: EntityManager, id: string): Promise<number | null> {
  return (await m.findOne(IdtokenVersion, { select: { bootstraps: true }, where: { id } }))?.bootstraps ?? null;
}
