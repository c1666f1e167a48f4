import { MigrationInterface, QueryRunner, Table } from 'typeorm';

/** The VO's SciTokens (sealed) and the issuers trusted to sign them. */
export class SciTokens1764000000000 implements MigrationInterface {
  name = 'SciTokens1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'scitoken_issuers',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'issuer', type: 'varchar', length: '255', isUnique: true },
          { name: 'jwks', type: 'text' },
          { name: 'created_at', type: 'bigint' },
          { name: 'updated_at', type: 'bigint' },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'scitokens',
        columns: [
          { name: 'name', type: 'varchar', length: '128', isPrimary: true },
          { name: 'trust_domain', type: 'varchar', length: '64' },
          { name: 'security_class', type: 'varchar', length: '64', isNullable: true },
          { name: 'source_path', type: 'varchar', length: '1024', isNullable: true },
          { name: 'sealed_token', type: 'text', isNullable: true },
          { name: 'issuer', type: 'varchar', length: '255', isNullable: true },
          { name: 'subject', type: 'varchar', length: '255', isNullable: true },
          { name: 'audience', type: 'text', isNullable: true },
          { name: 'scope', type: 'text', isNullable: true },
          { name: 'profile', type: 'varchar', length: '16', isNullable: true },
          { name: 'alg', type: 'varchar', length: '8', isNullable: true },
          { name: 'kid', type: 'varchar', length: '255', isNullable: true },
          { name: 'jti', type: 'varchar', length: '255', isNullable: true },
          { name: 'fingerprint', type: 'varchar', length: '64', isNullable: true },
          { name: 'issued_at', type: 'bigint', isNullable: true },
          { name: 'not_before', type: 'bigint', isNullable: true },
          { name: 'expires_at', type: 'bigint', isNullable: true },
          { name: 'stored_at', type: 'bigint', isNullable: true },
          { name: 'revoked_at', type: 'bigint', isNullable: true },
          { name: 'refresh_error', type: 'varchar', length: '64', isNullable: true },
          { name: 'refresh_error_at', type: 'bigint', isNullable: true },
          { name: 'created_at', type: 'bigint' },
          { name: 'updated_at', type: 'bigint' },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('scitokens');
    await q.dropTable('scitoken_issuers');
  }
}
