import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

/**
 * Opt-in glidein bootstrap with the IDTOKEN the factory shipped: the entry's switch
 * (`glidein_bootstrap`, 'ticket' or 'token'), how each renewal chain was started, and the SHA-256
 * of each recently cached IDTOKEN version (never the token), with how many chains it started.
 */
export class TokenBootstrap1765700000000 implements MigrationInterface {
  name = 'TokenBootstrap1765700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('factory_entries', new TableColumn({ name: 'glidein_bootstrap', type: 'varchar', length: '16', default: "'ticket'" }));
    await q.addColumn('glidein_renewals', new TableColumn({ name: 'bootstrap', type: 'varchar', length: '16', default: "'ticket'" }));
    await q.createTable(
      new Table({
        name: 'idtoken_versions',
        columns: [
          { name: 'id', type: 'varchar', length: '16', isPrimary: true },
          { name: 'frontend', type: 'varchar', length: '128' },
          { name: 'entry', type: 'varchar', length: '128' },
          { name: 'version', type: 'bigint' },
          { name: 'token_hash', type: 'varchar', length: '64' },
          { name: 'expires_at', type: 'bigint' },
          { name: 'received_at', type: 'bigint' },
          { name: 'bootstraps', type: 'integer', default: 0 },
        ],
        // The bootstrap looks up by hash and entry; the intake prunes per frontend and entry; the purge by expiry.
        indices: [
          new TableIndex({ name: 'idtoken_versions_hash', columnNames: ['token_hash', 'entry'] }),
          new TableIndex({ name: 'idtoken_versions_entry', columnNames: ['frontend', 'entry'] }),
          new TableIndex({ name: 'idtoken_versions_expires', columnNames: ['expires_at'] }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('idtoken_versions');
    await q.dropColumn('glidein_renewals', 'bootstrap');
    await q.dropColumn('factory_entries', 'glidein_bootstrap');
  }
}
