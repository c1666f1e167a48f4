import { MigrationInterface, QueryRunner, Table } from 'typeorm';

/** Registration both ways: frontends a factory accepts envelopes from, factories a frontend forwards to. */
export class Registration1764200000000 implements MigrationInterface {
  name = 'Registration1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'registered_frontends',
        columns: [
          { name: 'name', type: 'varchar', length: '128', isPrimary: true },
          { name: 'public_key', type: 'varchar', length: '64', isUnique: true },
          { name: 'api_key_id', type: 'varchar', length: '16' },
          { name: 'created_at', type: 'bigint' },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'factories',
        columns: [
          { name: 'name', type: 'varchar', length: '128', isPrimary: true },
          { name: 'url', type: 'varchar', length: '512' },
          { name: 'public_key', type: 'varchar', length: '64' },
          { name: 'sealed_api_key', type: 'text' },
          { name: 'created_at', type: 'bigint' },
          { name: 'updated_at', type: 'bigint' },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('factories');
    await q.dropTable('registered_frontends');
  }
}
