import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * Factory cache files in GlideinWMS's names. A registered frontend gets the local user its
 * credentials map to (`user_<localUser>/`; null: its name, which is where files went before), and
 * a cached credential the frontend groups it serves (comma-separated; null: `main`), one file per
 * group named after GlideinWMS's ClientName `<frontend>.<group>`.
 */
export class GlideinwmsCacheNames1765650000000 implements MigrationInterface {
  name = 'GlideinwmsCacheNames1765650000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('registered_frontends', new TableColumn({ name: 'local_user', type: 'varchar', length: '32', isNullable: true }));
    await q.addColumn('cached_credentials', new TableColumn({ name: 'groups', type: 'varchar', length: '4200', isNullable: true }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('cached_credentials', 'groups');
    await q.dropColumn('registered_frontends', 'local_user');
  }
}
