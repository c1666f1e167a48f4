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

  /**
   * One batch: each mint's rows only if the key version that signed it is still active, read FOR
   * SHARE on PostgreSQL (a retirement or deletion, FOR UPDATE, waits for this commit, or we see it);
   * the key is read once per batch however many of its mints the batch holds.
   */
  private write(batch: Mint[]): Promise<Set<number>> {
    return this.db.batch(
      batch.map((p) => ({
        guard: { sql: 'SELECT 1 FROM site_keys WHERE id = ? AND state = ?', params: [p.token.keyId, KEY_STATE.active], holds: 'row', lock: 'share' },
        inserts: [
          { table: 'issued_tokens', columns: TOKEN_COLUMNS, rows: [tokenRow(p.token)] },
          { table: 'audit_log', columns: AUDIT_COLUMNS, rows: [auditRow(p.audit)] },
        ],
      })),
    );
  }
}
