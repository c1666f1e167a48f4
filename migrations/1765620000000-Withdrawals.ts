import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

/**
 * Withdrawals. Frontend: an outbox row is a credential to deliver or a withdrawal of one (`kind`),
 * with why it was withdrawn (`reason`); rows already there are credentials. Factory: a withdrawn
 * credential leaves cached_credentials (its sealed value goes with the row) and leaves a
 * tombstone here, so a late, older delivery cannot bring it back.
 */
export class Withdrawals1765620000000 implements MigrationInterface {
  name = 'Withdrawals1765620000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumns('deliveries', [
      new TableColumn({ name: 'kind', type: 'varchar', length: '16', default: "'credential'" }),
      new TableColumn({ name: 'reason', type: 'varchar', length: '64', isNullable: true }),
    ]);
    await q.createTable(
      new Table({
        name: 'withdrawn_credentials',
        columns: [
          { name: 'frontend', type: 'varchar', length: '128', isPrimary: true },
          { name: 'entry', type: 'varchar', length: '128', isPrimary: true },
          { name: 'type', type: 'varchar', length: '16', isPrimary: true },
          { name: 'version', type: 'bigint' },
          { name: 'reason', type: 'varchar', length: '64' },
          { name: 'withdrawn_at', type: 'bigint' },
          { name: 'envelope_id', type: 'varchar', length: '36' },
        ],
        indices: [new TableIndex({ name: 'withdrawn_credentials_entry', columnNames: ['entry', 'type'] })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('withdrawn_credentials');
    await q.dropColumn('deliveries', 'reason');
    await q.dropColumn('deliveries', 'kind');
  }
}
