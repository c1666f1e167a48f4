import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The append-only audit log holds against TRUNCATE too: on PostgreSQL TRUNCATE fires no row
 * triggers, so a statement trigger refuses it. SQLite has no TRUNCATE (its DELETE is refused by
 * the row trigger of the initial migration).
 */
export class AuditNoTruncate1765500000000 implements MigrationInterface {
  name = 'AuditNoTruncate1765500000000';

  async up(q: QueryRunner): Promise<void> {
    if (q.connection.options.type !== 'postgres') return;
    await q.query(`CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION glidekey_audit_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    if (q.connection.options.type !== 'postgres') return;
    await q.query('DROP TRIGGER audit_log_no_truncate ON audit_log');
  }
}
