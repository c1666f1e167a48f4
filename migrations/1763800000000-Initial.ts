import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex } from 'typeorm';

const id = (name: string, length = 36) => ({ name, type: 'varchar', length: String(length), isPrimary: true });
const ms = (name: string, isNullable = false) => ({ name, type: 'bigint', isNullable });

/**
 * The frontend core: keys, sites and their key versions, the token ledger, the audit log.
 * Written with TypeORM's Table API so the same migration builds SQLite and PostgreSQL.
 */
export class Initial1763800000000 implements MigrationInterface {
  name = 'Initial1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'glidekey_meta',
        columns: [id('name', 64), { name: 'value', type: 'text' }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'api_keys',
        columns: [
          id('id', 16),
          { name: 'name', type: 'varchar', length: '64', isUnique: true },
          { name: 'roles', type: 'varchar', length: '255' },
          { name: 'secret_hash', type: 'varchar', length: '64' },
          { name: 'created_by', type: 'varchar', length: '128' },
          ms('created_at'),
          ms('revoked_at', true),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'audit_log',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          ms('at'),
          { name: 'actor', type: 'varchar', length: '128' },
          { name: 'action', type: 'varchar', length: '64' },
          { name: 'target', type: 'varchar', length: '255', isNullable: true },
          { name: 'result', type: 'varchar', length: '16' },
          { name: 'code', type: 'varchar', length: '64', isNullable: true },
          { name: 'request_id', type: 'varchar', length: '64', isNullable: true },
          { name: 'detail', type: 'text', isNullable: true },
        ],
        indices: [
          new TableIndex({ name: 'audit_log_at', columnNames: ['at'] }),
          new TableIndex({ name: 'audit_log_action', columnNames: ['action', 'at'] }),
          new TableIndex({ name: 'audit_log_target', columnNames: ['target', 'at'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'sites',
        columns: [
          id('id'),
          { name: 'name', type: 'varchar', length: '128', isUnique: true },
          { name: 'issuer', type: 'varchar', length: '255' },
          { name: 'identity', type: 'varchar', length: '255' },
          { name: 'scopes', type: 'varchar', length: '255' },
          { name: 'lifetime_seconds', type: 'integer' },
          { name: 'max_lifetime_seconds', type: 'integer' },
          { name: 'rotation_enabled', type: 'boolean' },
          { name: 'rotation_interval_seconds', type: 'integer', isNullable: true },
          { name: 'rotation_cron', type: 'varchar', length: '128', isNullable: true },
          { name: 'rotation_grace_seconds', type: 'integer' },
          { name: 'key_version', type: 'integer' },
          { name: 'row_version', type: 'integer' },
          ms('created_at'),
          ms('updated_at'),
          ms('rotated_at'),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'site_keys',
        columns: [
          id('id'),
          { name: 'site_id', type: 'varchar', length: '36' },
          { name: 'version', type: 'integer' },
          { name: 'kid', type: 'varchar', length: '160' },
          { name: 'state', type: 'varchar', length: '16' },
          { name: 'sealed_key', type: 'text' },
          { name: 'fingerprint', type: 'varchar', length: '64' },
          { name: 'source', type: 'varchar', length: '16' },
          { name: 'key_length', type: 'integer' },
          ms('created_at'),
          ms('grace_until', true),
          ms('retired_at', true),
        ],
        indices: [
          new TableIndex({ name: 'site_keys_site_version', columnNames: ['site_id', 'version'], isUnique: true }),
          new TableIndex({ name: 'site_keys_kid', columnNames: ['kid'] }),
        ],
        foreignKeys: [new TableForeignKey({ columnNames: ['site_id'], referencedTableName: 'sites', referencedColumnNames: ['id'], onDelete: 'CASCADE' })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'issued_tokens',
        columns: [
          id('jti', 32),
          { name: 'site_id', type: 'varchar', length: '36' },
          { name: 'site_name', type: 'varchar', length: '128' },
          { name: 'key_id', type: 'varchar', length: '36' },
          { name: 'key_version', type: 'integer' },
          { name: 'kid', type: 'varchar', length: '160' },
          { name: 'subject', type: 'varchar', length: '255' },
          { name: 'issuer', type: 'varchar', length: '255' },
          { name: 'scopes', type: 'varchar', length: '255' },
          ms('issued_at'),
          ms('expires_at'),
          ms('revoked_at', true),
          { name: 'minted_by', type: 'varchar', length: '128' },
        ],
        indices: [
          new TableIndex({ name: 'issued_tokens_site', columnNames: ['site_name', 'issued_at'] }),
          new TableIndex({ name: 'issued_tokens_expires', columnNames: ['expires_at'] }),
        ],
      }),
    );
    // The audit log is append-only: the database itself refuses to change or remove a line.
    if (q.connection.options.type === 'postgres') {
      await q.query(`CREATE FUNCTION glidekey_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$`);
      await q.query(`CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION glidekey_audit_append_only()`);
    } else {
      await q.query(`CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`);
      await q.query(`CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    if (q.connection.options.type === 'postgres') {
      await q.query('DROP TRIGGER audit_log_append_only ON audit_log');
      await q.query('DROP FUNCTION glidekey_audit_append_only()');
    }
    for (const t of ['issued_tokens', 'site_keys', 'sites', 'audit_log', 'api_keys', 'glidekey_meta']) await q.dropTable(t);
  }
}
