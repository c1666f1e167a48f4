import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

/**
 * The revocation expression (and the revocation.maxJtis check on every revoke) reads the revoked,
 * unexpired ledger rows: `revoked_at > 0 AND expires_at > now`. With only issued_tokens_expires
 * that walked every unexpired token, revoked or not (hundreds of thousands on a busy frontend),
 * and looked each one up in the table. A partial index holds the revoked rows alone, in expiry
 * order, with every column those reads touch (jti; subject and issued_at for the subject rules;
 * revoked_at for their condition), so both read only the rows they return, from the index alone.
 * Both engines use it for `revoked_at > 0`, which implies the index's `revoked_at IS NOT NULL`.
 */
export class RevokedTokensIndex1765910000000 implements MigrationInterface {
  name = 'RevokedTokensIndex1765910000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createIndex(
      'issued_tokens',
      new TableIndex({ name: 'issued_tokens_revoked_expires', columnNames: ['expires_at', 'issued_at', 'subject', 'jti', 'revoked_at'], where: 'revoked_at IS NOT NULL' }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('issued_tokens', 'issued_tokens_revoked_expires');
  }
}
