import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

/** Glidein bootstrap tickets (hashes only), and the entry policy that says a glidein also gets the SciToken. */
export class Tickets1764600000000 implements MigrationInterface {
  name = 'Tickets1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'glidein_tickets',
        columns: [
          { name: 'id', type: 'varchar', length: '16', isPrimary: true },
          { name: 'secret_hash', type: 'varchar', length: '64' },
          { name: 'batch_id', type: 'varchar', length: '16' },
          { name: 'frontend', type: 'varchar', length: '128' },
          { name: 'entry', type: 'varchar', length: '128' },
          { name: 'created_at', type: 'bigint' },
          { name: 'expires_at', type: 'bigint' },
          { name: 'consumed_at', type: 'bigint', isNullable: true },
          { name: 'consumed_by', type: 'varchar', length: '64', isNullable: true },
          { name: 'stale_audited_at', type: 'bigint', isNullable: true },
        ],
        // The fetch reads and consumes by primary key; the purge scans by expiry; the gauge groups by entry.
        indices: [
          new TableIndex({ name: 'glidein_tickets_expires', columnNames: ['expires_at'] }),
          new TableIndex({ name: 'glidein_tickets_entry', columnNames: ['entry'] }),
        ],
      }),
    );
    await q.addColumn('factory_entries', new TableColumn({ name: 'glidein_scitoken', type: 'boolean', default: false }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('factory_entries', 'glidein_scitoken');
    await q.dropTable('glidein_tickets');
  }
}
