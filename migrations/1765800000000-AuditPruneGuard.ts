import { MigrationInterface, QueryRunner, Table } from 'typeorm';

/**
 * Retention: the append-only audit log allows DELETE in exactly one case, while the transaction
 * doing it holds a row in audit_prune_guard (`glidekey prune` inserts one and removes it before
 * COMMIT, so the table is empty outside that transaction; on PostgreSQL no other transaction ever
 * sees the uncommitted row, on SQLite there is one writer). UPDATE and TRUNCATE stay refused.
 */
export class AuditPruneGuard1765800000000 implements MigrationInterface {
  name = 'AuditPruneGuard1765800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(new Table({ name: 'audit_prune_guard', columns: [{ name: 'id', type: 'integer', isPrimary: true }] }));
    if (q.connection.options.type === 'postgres') {
      await q.query(`CREATE OR REPLACE FUNCTION glidekey_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM audit_prune_guard) THEN RETURN OLD; END IF;
          RAISE EXCEPTION 'audit_log is append-only';
        END $$`);
    } else {
      await q.query('DROP TRIGGER audit_log_no_delete');
      await q.query(`CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log WHEN NOT EXISTS (SELECT 1 FROM audit_prune_guard)
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    if (q.connection.options.type === 'postgres') {
      await q.query(`CREATE OR REPLACE FUNCTION glidekey_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$`);
    } else {
      await q.query('DROP TRIGGER audit_log_no_delete');
      await q.query(`CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`);
    }
    await q.dropTable('audit_prune_guard');
  }
}
