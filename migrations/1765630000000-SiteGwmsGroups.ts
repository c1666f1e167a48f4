import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * A site may name the GlideinWMS frontend groups whose tokens.d files hold its current token
 * (`<group>.<site>.idtoken`). Existing sites start with none named: they follow gwms.frontend.groups.
 */
export class SiteGwmsGroups1765630000000 implements MigrationInterface {
  name = 'SiteGwmsGroups1765630000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('sites', new TableColumn({ name: 'gwms_groups', type: 'varchar', length: '1024', isNullable: true }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('sites', 'gwms_groups');
  }
}
