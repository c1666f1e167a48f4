import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

/**
 * Two partial indexes of the revoked ledger rows alone (both engines use them for
 * `revoked_at > 0` or `revoked_at IS NOT NULL`, which imply their `revoked_at IS NOT NULL`):
 * - issued_tokens_revoked_expires: the revocation expression (and the revocation.maxJtis check on
 *   every revoke) reads the revoked, unexpired rows, `revoked_at > 0 AND expires_at > now`. With
 *   only issued_tokens_expires that walked every unexpired token, revoked or not (hundreds of
 *   thousands on a busy frontend), and looked each one up in the table. This one is in expiry
 *   order with every column those reads touch (jti; subject and issued_at for the subject rules;
 *   revoked_at for their condition): they read only the rows they return, from the index alone.
 * - issued_tokens_revoked_issued: `GET /tokens?state=revoked` in the ledger's list order, so a
 *   page reads its own rows instead of walking the whole ledger's order index until it has found
 *   enough revoked ones (and, once the first index existed, instead of sorting every revoked row:
 *   with statistics SQLite chose it for the filter).
 */
export class RevokedTokensIndex1765910000000 implements MigrationInterface {
  name = 'RevokedTokensIndex1765910000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createIndex(
      'issued_tokens',
      new TableIndex({
        name: 'issued_tokens_revoked_expires',
        columnNames: ['expires_at', 'issued_at', 'subject', 'jti', 'revoked_at'],
        where: 'revoked_at IS NOT NULL',
      }),
    );
    await q.createIndex(
      'issued_tokens',
      new TableIndex({ name: 'issued_tokens_revoked_issued', columnNames: ['issued_at', 'jti'], where: 'revoked_at IS NOT NULL' }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('issued_tokens', 'issued_tokens_revoked_issued');
    await q.dropIndex('issued_tokens', 'issued_tokens_revoked_expires');
  }
}
