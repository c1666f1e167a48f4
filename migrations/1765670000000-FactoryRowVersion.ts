import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * A registered factory can now be changed (PATCH /factories/{name}): like a site, it carries a
 * rowVersion so an admin's change based on a stale read is refused (409 STALE_VERSION). Existing
 * rows start at 1.
 */
export class FactoryRowVersion1765670000000 implements MigrationInterface {
  name = 'FactoryRowVersion1765670000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('factories', new TableColumn({ name: 'row_version', type: 'integer', default: 1 }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('factories', 'row_version');
  }
}
