import { EntityManager } from 'typeorm';
import { SubjectRevocation } from './subject-revocation.entity.js';
import { chunks, query, sql } from '../database/sql.js';

/**
 * Which of these ledger tokens are revoked now: by jti (the ledger's revoked_at), or by a live
 * subject rule (`sub` equal and `iat <= issuedBefore`, as the revocation expression and the
 * verifier read it). For the renewer and the outbox, which must never forward a revoked token.
 */
export async function revokedJtis(m: EntityManager, jtis: string[], nowMs: number): Promise<Set<string>> {
  const out = new Set<string>();
  // Plain SQL with bound parameters: TypeORM's query building for 500 placeholders cost more than
  // the query (the deliverer asks this for every due IDTOKEN of a pass, the renewer per rotation).
  for (const slice of chunks(jtis)) {
    const rows = await query<{ jti: string }>(
      m,
      sql`SELECT t.jti AS jti FROM issued_tokens t WHERE t.jti IN (${sql.list(slice)}) AND (t.revoked_at IS NOT NULL OR EXISTS (SELECT 1 FROM subject_revocations r WHERE r.subject = t.subject AND r.issued_before * 1000 >= t.issued_at AND r.expires_at > ${nowMs}))`,
    );
    for (const r of rows) out.add(r.jti);
  }
  return out;
}

/** The latest live subject-rule cutoff (Unix seconds, tokens with `iat <=` it are revoked) for a subject, or null. */
export async function subjectCutoff(m: EntityManager, subject: string, nowMs: number): Promise<number | null> {
  const row = await m
    .createQueryBuilder(SubjectRevocation, 'r')
    .select('MAX(r.issued_before)', 'cutoff')
    .where('r.subject = :subject AND r.expires_at > :now', { subject, now: nowMs })
    .getRawOne<{ cutoff: string | number | null }>();
  return row?.cutoff === null || row?.cutoff === undefined ? null : Number(row.cutoff);
}
