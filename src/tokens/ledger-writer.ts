import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AUDIT_COLUMNS, auditRow, AuditLine } from '../audit/audit-row.js';
import { bulkInsert } from '../database/bulk-insert.js';
import { Db } from '../database/db.js';
import { GroupCommit } from '../database/group-commit.js';
import { KEY_STATE } from '../sites/key-usability.js';
import { IssuedToken } from './issued-token.entity.js';

const TOKEN_COLUMNS = [
  'jti',
  'site_id',
  'site_name',
  'key_id',
  'key_version',
  'kid',
  'subject',
  'issuer',
  'scopes',
  'issued_at',
  'expires_at',
  'revoked_at',
  'minted_by',
] as const;
const tokenRow = (t: IssuedToken) => [
  t.jti,
  t.siteId,
  t.siteName,
  t.keyId,
  t.keyVersion,
  t.kid,
  t.subject,
  t.issuer,
  t.scopes,
  t.issuedAt,
  t.expiresAt,
  t.revokedAt,
  t.mintedBy,
];

interface Mint {
  token: IssuedToken;
  audit: AuditLine;
}

/** Rows per transaction: well under SQLite's and PostgreSQL's bound-parameter limits. */
const MAX_BATCH = 256;

/**
 * Group commit for the mint path. Mints that arrive together share one transaction (one fsync):
 * each caller's promise settles only after the transaction holding its ledger and audit rows has
 * committed, so no token is returned before it is on disk. A row whose key version stopped being
 * active meanwhile is not written, and its caller hears `false`.
 */
@Injectable()
export class LedgerWriter {
  private readonly batches = new GroupCommit<Mint>(MAX_BATCH, (mints) => this.write(mints));

  constructor(private readonly db: Db) {}

  record(token: IssuedToken, audit: AuditLine): Promise<boolean> {
    return this.batches.submit({ token, audit });
  }

  /**
   * Writes one mint's rows in the caller's transaction `m`, which has itself created the key
   * version that signed it (a rotation's renewal) or read it active holding it (FOR SHARE on
   * PostgreSQL): no other transaction can have retired that version before `m` commits.
   */
  async recordIn(m: EntityManager, token: IssuedToken, audit: AuditLine): Promise<void> {
    await bulkInsert(m, 'issued_tokens', TOKEN_COLUMNS, [tokenRow(token)]);
    await bulkInsert(m, 'audit_log', AUDIT_COLUMNS, [auditRow(audit)]);
  }

  private write(batch: Mint[]): Promise<Set<number>> {
    return this.db.tx(async (m) => {
      const keyIds = [...new Set(batch.map((p) => p.token.keyId))];
      // Written directly, as the inserts are: TypeORM's find() cost more than this query (a twentieth
      // of an in-process mint's CPU). FOR SHARE on PostgreSQL: a retirement or deletion (FOR UPDATE)
      // waits for this commit, or we see it.
      const pg = this.db.isPostgres;
      const marks = keyIds.map((_, i) => (pg ? `$${i + 2}` : '?')).join(', ');
      const rows: { id: string }[] = await m.query(`SELECT id FROM site_keys WHERE state = ${pg ? '$1' : '?'} AND id IN (${marks})${pg ? ' FOR SHARE' : ''}`, [
        KEY_STATE.active,
        ...keyIds,
      ]);
      const active = new Set(rows.map((k) => k.id));
      const ok = batch.map((p, i) => [p, i] as const).filter(([p]) => active.has(p.token.keyId));
      await bulkInsert(
        m,
        'issued_tokens',
        TOKEN_COLUMNS,
        ok.map(([p]) => tokenRow(p.token)),
      );
      await bulkInsert(
        m,
        'audit_log',
        AUDIT_COLUMNS,
        ok.map(([p]) => auditRow(p.audit)),
      );
      return new Set(ok.map(([, i]) => i));
    });
  }
}
