import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

/** The frontend's forwarding: the outbox of credentials to deliver, and each factory's entries as last seen. */
export class Outbox1764400000000 implements MigrationInterface {
  name = 'Outbox1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'deliveries',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'factory', type: 'varchar', length: '128' },
          { name: 'entry', type: 'varchar', length: '128' },
          { name: 'type', type: 'varchar', length: '16' },
          { name: 'source', type: 'varchar', length: '128' },
          { name: 'source_ref', type: 'varchar', length: '64' },
          { name: 'key_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'version', type: 'bigint' },
          { name: 'expires_at', type: 'bigint' },
          { name: 'sealed_value', type: 'text', isNullable: true },
          { name: 'state', type: 'varchar', length: '16' },
          { name: 'attempts', type: 'integer', default: 0 },
          { name: 'next_attempt_at', type: 'bigint' },
          { name: 'last_error', type: 'varchar', length: '64', isNullable: true },
          { name: 'created_at', type: 'bigint' },
          { name: 'updated_at', type: 'bigint' },
          { name: 'delivered_at', type: 'bigint', isNullable: true },
        ],
        indices: [
          new TableIndex({ name: 'deliveries_due', columnNames: ['state', 'next_attempt_at'] }),
          new TableIndex({ name: 'deliveries_target', columnNames: ['factory', 'entry', 'type', 'version'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'factory_entries_seen',
        columns: [
          { name: 'factory', type: 'varchar', length: '128', isPrimary: true },
          { name: 'entry', type: 'varchar', length: '128', isPrimary: true },
          { name: 'site', type: 'varchar', length: '128' },
          { name: 'trust_domain', type: 'varchar', length: '64' },
          { name: 'auth_method', type: 'varchar', length: '128' },
          { name: 'condor_version', type: 'varchar', length: '64', isNullable: true },
          { name: 'security_class', type: 'varchar', length: '64', isNullable: true },
          { name: 'gatekeeper', type: 'varchar', length: '255' },
          { name: 'seen_at', type: 'bigint' },
        ],
        indices: [new TableIndex({ name: 'factory_entries_seen_site', columnNames: ['site'] })],
      }),
    );
    await q.addColumns('factories', [
      new TableColumn({ name: 'synced_at', type: 'bigint', isNullable: true }),
      new TableColumn({ name: 'sync_error', type: 'varchar', length: '255', isNullable: true }),
    ]);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('factories', 'sync_error');
    await q.dropColumn('factories', 'synced_at');
    await q.dropTable('factory_entries_seen');
    await q.dropTable('deliveries');
  }
}
