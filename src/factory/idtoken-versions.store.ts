import { EntityManager, LessThanOrEqual } from 'typeorm';
import { hashSecret } from '../auth/api-key.secret.js';
import { bulkInsert } from '../database/bulk-insert.js';
import { IdtokenVersion } from './idtoken-version.entity.js';
import { query, sql } from '../database/sql.js';

/** Versions kept per frontend and entry: the current one and the two before it (each while unexpired). */
export const KEPT_VERSIONS = 3;

/**
 * Called by the intake in its transaction for each IDTOKEN it caches: SHA-256 of the exact bytes
 * the frontend sent (what the factory's cache file holds and GlideinWMS ships), then the versions
 * beyond KEPT_VERSIONS dropped.
 */
export async function recordIdtokenVersion(
  m: EntityManager,
  id: string,
  c: { frontend: string; entry: string; version: number; expiresAt: number; receivedAt: number },
  value: string,
): Promise<void> {
  // Plain SQL with bound parameters: this runs for every IDTOKEN of every envelope.
  await bulkInsert(
    m,
    'idtoken_versions',
    ['id', 'frontend', 'entry', 'version', 'token_hash', 'expires_at', 'received_at', 'bootstraps'],
    [[id, c.frontend, c.entry, c.version, hashSecret(value), c.expiresAt, c.receivedAt, 0]],
  );
  await query(
    m,
    sql`DELETE FROM idtoken_versions WHERE id IN (SELECT id FROM idtoken_versions WHERE frontend = ${c.frontend} AND entry = ${c.entry} ORDER BY version DESC, received_at DESC ${sql.offset(KEPT_VERSIONS)})`,
  );
}

/** A withdrawal (or the entry's deletion): no version up to `version` bootstraps any more. */
export async function forgetIdtokenVersions(m: EntityManager, where: { frontend?: string; entry: string; upTo?: number }): Promise<void> {
  await m.delete(IdtokenVersion, {
    ...(where.frontend ? { frontend: where.frontend } : {}),
    entry: where.entry,
    ...(where.upTo !== undefined ? { version: LessThanOrEqual(where.upTo) } : {}),
  });
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
