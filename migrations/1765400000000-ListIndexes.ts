import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

/**
 * An index for every list order and filter and for every aggregate the metrics read, so that no
 * list or scrape sorts or scans a whole table (the ledger is never purged):
 * - GET /tokens orders by (issued_at, jti), optionally for one site;
 * - GET /audit orders by id, filtered by action, actor, target or result;
 * - GET /deliveries orders by (created_at, version), filtered by factory, entry or state;
 * - the factory cache gauges group by (type, expires_at); the outstanding-tickets gauge and the
 *   per-entry ticket purge read (consumed_at, entry, expires_at).
 */
const INDEXES: [table: string, name: string, columns: string[]][] = [
  ['issued_tokens', 'issued_tokens_issued', ['issued_at', 'jti']],
  ['issued_tokens', 'issued_tokens_site_issued', ['site_name', 'issued_at', 'jti']],
  ['audit_log', 'audit_log_action_id', ['action', 'id']],
  ['audit_log', 'audit_log_actor_id', ['actor', 'id']],
  ['audit_log', 'audit_log_target_id', ['target', 'id']],
  ['audit_log', 'audit_log_result_id', ['result', 'id']],
  ['deliveries', 'deliveries_created', ['created_at', 'version']],
  ['deliveries', 'deliveries_factory_created', ['factory', 'created_at', 'version']],
  ['deliveries', 'deliveries_entry_created', ['entry', 'created_at', 'version']],
  ['deliveries', 'deliveries_state_created', ['state', 'created_at', 'version']],
  ['cached_credentials', 'cached_credentials_type_expires', ['type', 'expires_at']],
  ['glidein_tickets', 'glidein_tickets_open', ['consumed_at', 'entry', 'expires_at']],
];

export class ListIndexes1765400000000 implements MigrationInterface {
  name = 'ListIndexes1765400000000';

  async up(q: QueryRunner): Promise<void> {
    for (const [table, name, columnNames] of INDEXES) await q.createIndex(table, new TableIndex({ name, columnNames }));
    // Its prefix is the new (site_name, issued_at, jti): one index fewer to write on every mint.
    await q.dropIndex('issued_tokens', 'issued_tokens_site');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.createIndex('issued_tokens', new TableIndex({ name: 'issued_tokens_site', columnNames: ['site_name', 'issued_at'] }));
    for (const [table, name] of [...INDEXES].reverse()) await q.dropIndex(table, name);
  }
}
