import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

/**
 * Glidein renewal credentials (hashes only: the current one and the one it replaced, for the
 * lost-answer grace), and the entry field that bounds how long a pilot may renew.
 */
export class GlideinRenewals1765600000000 implements MigrationInterface {
  name = 'GlideinRenewals1765600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'glidein_renewals',
        columns: [
          { name: 'id', type: 'varchar', length: '16', isPrimary: true },
          { name: 'secret_hash', type: 'varchar', length: '64' },
          { name: 'previous_hash', type: 'varchar', length: '64', isNullable: true },
          { name: 'rotated_at', type: 'bigint', isNullable: true },
          { name: 'generation', type: 'integer', default: 0 },
          { name: 'ticket_id', type: 'varchar', length: '16' },
          { name: 'batch_id', type: 'varchar', length: '16' },
          { name: 'frontend', type: 'varchar', length: '128' },
          { name: 'entry', type: 'varchar', length: '128' },
          { name: 'created_at', type: 'bigint' },
          { name: 'expires_at', type: 'bigint' },
          { name: 'renewed_at', type: 'bigint', isNullable: true },
          { name: 'renewed_by', type: 'varchar', length: '64', isNullable: true },
          { name: 'revoked_at', type: 'bigint', isNullable: true },
        ],
        // Renewal reads and rotates by primary key; revocation works per entry and per batch; the purge by expiry.
        indices: [
          new TableIndex({ name: 'glidein_renewals_entry', columnNames: ['entry'] }),
          new TableIndex({ name: 'glidein_renewals_batch', columnNames: ['batch_id'] }),
          new TableIndex({ name: 'glidein_renewals_expires', columnNames: ['expires_at'] }),
        ],
      }),
    );
    await q.addColumn('factory_entries', new TableColumn({ name: 'max_pilot_life_seconds', type: 'integer', isNullable: true }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('factory_entries', 'max_pilot_life_seconds');
    await q.dropTable('glidein_renewals');
  }
}
