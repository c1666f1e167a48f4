import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

/**
 * Rotation and renewal: the next rotation time of each site (indexed, so the scheduler asks the
 * database which sites are due), leases for scheduled jobs shared by replicas, each site's current
 * token (sealed), and revocations by subject.
 */
export class Rotation1763900000000 implements MigrationInterface {
  name = 'Rotation1763900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('sites', new TableColumn({ name: 'next_rotation_at', type: 'bigint', isNullable: true }));
    await q.createIndex('sites', new TableIndex({ name: 'sites_next_rotation', columnNames: ['next_rotation_at'] }));
    await q.createTable(
      new Table({
        name: 'leases',
        columns: [
          { name: 'name', type: 'varchar', length: '64', isPrimary: true },
          { name: 'holder', type: 'varchar', length: '64' },
          { name: 'expires_at', type: 'bigint' },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'current_tokens',
        columns: [
          { name: 'site_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'jti', type: 'varchar', length: '32' },
          { name: 'key_id', type: 'varchar', length: '36' },
          { name: 'sealed_token', type: 'text' },
          { name: 'issued_at', type: 'bigint' },
          { name: 'expires_at', type: 'bigint' },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'subject_revocations',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'subject', type: 'varchar', length: '255' },
          { name: 'issued_before', type: 'bigint' },
          { name: 'expires_at', type: 'bigint' },
          { name: 'created_at', type: 'bigint' },
          { name: 'created_by', type: 'varchar', length: '128' },
        ],
        indices: [new TableIndex({ name: 'subject_revocations_expires', columnNames: ['expires_at'] })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('subject_revocations');
    await q.dropTable('current_tokens');
    await q.dropTable('leases');
    await q.dropIndex('sites', 'sites_next_rotation');
    await q.dropColumn('sites', 'next_rotation_at');
  }
}
