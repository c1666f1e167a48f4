import { MigrationInterface, QueryRunner, Table } from 'typeorm';

/** Each role's X25519 key pair, for sealed credential envelopes between frontend and factory. */
export class Identities1764100000000 implements MigrationInterface {
  name = 'Identities1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'identities',
        columns: [
          { name: 'role', type: 'varchar', length: '16', isPrimary: true },
          { name: 'public_key', type: 'varchar', length: '64' },
          { name: 'sealed_private_key', type: 'text' },
          { name: 'created_at', type: 'bigint' },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('identities');
  }
}
