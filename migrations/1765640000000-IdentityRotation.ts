import { MigrationInterface, QueryRunner, Table, TableColumn } from 'typeorm';

/**
 * A frontend identity rotation both sides follow. Frontend: the identity row keeps the previous
 * key pair during a transition (the private key sealed, AD `identity:<role>:previous:<public key>`),
 * and each factory row records which of our public keys it last accepted an envelope under.
 * Factory: the keys it followed a frontend away from, never to be pinned again by a key proof.
 */
export class IdentityRotation1765640000000 implements MigrationInterface {
  name = 'IdentityRotation1765640000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumns('identities', [
      new TableColumn({ name: 'previous_public_key', type: 'varchar', length: '64', isNullable: true }),
      new TableColumn({ name: 'sealed_previous_private_key', type: 'text', isNullable: true }),
      new TableColumn({ name: 'rotated_at', type: 'bigint', isNullable: true }),
    ]);
    await q.addColumn('factories', new TableColumn({ name: 'accepted_identity_key', type: 'varchar', length: '64', isNullable: true }));
    await q.createTable(
      new Table({
        name: 'retired_frontend_keys',
        columns: [
          { name: 'frontend', type: 'varchar', length: '128', isPrimary: true },
          { name: 'public_key', type: 'varchar', length: '64', isPrimary: true },
          { name: 'successor_key', type: 'varchar', length: '64' },
          { name: 'retired_at', type: 'bigint' },
        ],
        indices: [{ name: 'retired_frontend_keys_public_key', columnNames: ['public_key'] }],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('retired_frontend_keys');
    await q.dropColumn('factories', 'accepted_identity_key');
    await q.dropColumn('identities', 'rotated_at');
    await q.dropColumn('identities', 'sealed_previous_private_key');
    await q.dropColumn('identities', 'previous_public_key');
  }
}
