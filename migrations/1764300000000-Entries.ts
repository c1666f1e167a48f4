import { MigrationInterface, QueryRunner, Table } from 'typeorm';

/** The factory's entries: where glideins go, and what credentials they need. */
export class Entries1764300000000 implements MigrationInterface {
  name = 'Entries1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'factory_entries',
        columns: [
          { name: 'name', type: 'varchar', length: '128', isPrimary: true },
          { name: 'site', type: 'varchar', length: '128' },
          { name: 'gatekeeper', type: 'varchar', length: '255' },
          { name: 'trust_domain', type: 'varchar', length: '64' },
          { name: 'auth_method', type: 'varchar', length: '128' },
          { name: 'condor_version', type: 'varchar', length: '64', isNullable: true },
          { name: 'security_class', type: 'varchar', length: '64', isNullable: true },
          { name: 'created_at', type: 'bigint' },
          { name: 'updated_at', type: 'bigint' },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('factory_entries');
  }
}
