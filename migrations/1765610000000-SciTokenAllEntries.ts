import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * A SciToken goes to an entry only when its `aud` names the entry's CE (or is the "any" audience),
 * unless the admin marks it for every entry of its label. Existing rows start unmarked: the
 * audiences they need are already recorded (the `audience` column, filled at every store since the
 * SciTokens migration), and a row without one is treated as naming no CE.
 */
export class SciTokenAllEntries1765610000000 implements MigrationInterface {
  name = 'SciTokenAllEntries1765610000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('scitokens', new TableColumn({ name: 'all_entries', type: 'boolean', default: false }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('scitokens', 'all_entries');
  }
}
