import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/** The factory's credential cache (sealed, per frontend, entry and type) and the envelope ids it has seen. */
export class FactoryCache1764500000000 implements MigrationInterface {
  name = 'FactoryCache1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'cached_credentials',
        columns: [
          { name: 'frontend', type: 'varchar', length: '128', isPrimary: true },
          { name: 'entry', type: 'varchar', length: '128', isPrimary: true },
          { name: 'type', type: 'varchar', length: '16', isPrimary: true },
          { name: 'version', type: 'bigint' },
          { name: 'sealed_value', type: 'text' },
          { name: 'fingerprint', type: 'varchar', length: '64' },
          { name: 'expires_at', type: 'bigint' },
          { name: 'received_at', type: 'bigint' },
          { name: 'envelope_id', type: 'varchar', length: '36' },
        ],
        indices: [new TableIndex({ name: 'cached_credentials_entry', columnNames: ['entry', 'type'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'seen_envelopes',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'frontend', type: 'varchar', length: '128' },
          { name: 'created_at', type: 'bigint' },
          { name: 'received_at', type: 'bigint' },
        ],
        indices: [new TableIndex({ name: 'seen_envelopes_received', columnNames: ['received_at'] })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('seen_envelopes');
    await q.dropTable('cached_credentials');
  }
}
