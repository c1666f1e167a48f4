import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/errors.js';
import { Sealer } from '../crypto/sealer.js';
import { Db } from '../database/db.js';
import { Factory, factoryApiKeyAd } from './factory.entity.js';
import { FactoryCallError, FactoryClient, RemoteEntry } from './factory-client.js';
import { OutboxReconciler } from './reconcile.service.js';
import { SeenEntry } from './seen-entry.entity.js';
import { RunsAs } from '../common/request-context.js';
import { chunks, rowLock } from '../database/sql.js';

export interface SyncResult {
  factory: string;
  entries: number | null;
  queued: number;
  error: string | null;
  /** Set when the factory's answer broke the contract (not a transport failure): the sync route answers 502. */
  contractError?: boolean;
}

/**
 * What makes a factory's entries unusable even though each one matched the schema: an entry named
 * twice (the last-seen table is keyed by name), or NUL anywhere (PostgreSQL cannot store it).
 */
export function entriesProblem(entries: RemoteEntry[]): string | null {
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) return `entry ${e.name} is listed twice`;
    seen.add(e.name);
    if (Object.values(e).some((v) => typeof v === 'string' && v.includes('\0'))) return `entry ${e.name} holds a NUL character`;
  }
  return null;
}

/**
 * Reads each factory's entries (GET /factory/entries with the API key it gave us), keeps them as
 * last seen, and in the same transaction queues every credential an entry should have and does not,
 * and withdraws what an entry was given and should no longer have.
 */
@Injectable()
export class EntriesSyncService {
  private readonly log = new Logger('forwarding');

  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
    private readonly clock: Clock,
    private readonly client: FactoryClient,
    private readonly reconciler: OutboxReconciler,
    private readonly audit: AuditService,
  ) {}

  /** Every factory at once: one factory's failure does not stop the others, and a slow one does not hold them up. */
  async syncAll(): Promise<SyncResult[]> {
    const names = (await this.db.read((m) => m.find(Factory, { select: { name: true }, order: { name: 'ASC' } }))).map((f) => f.name);
    return Promise.all(
      names.map((name) =>
        this.sync(name).catch((err: unknown): SyncResult => {
          // Deleted while this pass ran: nothing left to sync.
          if (err instanceof DomainError && err.code === 'FACTORY_NOT_FOUND')
            return { factory: name, entries: null, queued: 0, error: 'FACTORY_NOT_FOUND: deleted during the sync' };
          this.log.error({ err }, `syncing factory ${name} failed`);
          return { factory: name, entries: null, queued: 0, error: 'INTERNAL: the sync failed' };
        }),
      ),
    );
  }

  @RunsAs('system:forwarding')
  async sync(name: string): Promise<SyncResult> {
    const factory = await this.db.read((m) => m.findOneBy(Factory, { name }));
    if (!factory) throw new DomainError('FACTORY_NOT_FOUND', 'no such factory');
    let entries: RemoteEntry[];
    try {
      entries = await this.client.entries(factory.url, Buffer.from(this.sealer.open(factory.sealedApiKey, factoryApiKeyAd(name))).toString('utf8'));
      const problem = entriesProblem(entries);
      if (problem) throw new FactoryCallError('BAD_RESPONSE', `the factory answered entries that do not match the contract: ${problem}`);
    } catch (err) {
      if (!(err instanceof FactoryCallError)) throw err;
      const error = `${err.code}: ${err.message}`.slice(0, 255);
      if (factory.syncError !== error) this.log.warn(`reading the entries of factory ${name} failed (${error}); its last-seen entries stay`);
      await this.db.tx((m) => m.update(Factory, { name }, { syncError: error }));
      return { factory: name, entries: null, queued: 0, error, ...(err.code === 'BAD_RESPONSE' ? { contractError: true } : {}) };
    }
    const queued = await this.db.tx(async (m) => {
      const now = this.clock.now();
      // Deleted (or changed) while its entries were being read: a deleted factory gets no entries and no outbox back.
      const still = await m.findOne(Factory, { where: { name }, ...rowLock(m, 'update') });
      if (!still) throw new DomainError('FACTORY_NOT_FOUND', `factory ${name} was deleted during the sync`);
      await m.delete(SeenEntry, { factory: name });
      for (const slice of chunks(entries, 200)) {
        await m.insert(
          SeenEntry,
          slice.map((e) => ({
            factory: name,
            entry: e.name,
            site: e.site,
            trustDomain: e.trustDomain,
            authMethod: e.authMethod,
            condorVersion: e.condorVersion,
            securityClass: e.securityClass,
            gatekeeper: e.gatekeeper,
            seenAt: now,
          })),
        );
      }
      await m.update(Factory, { name }, { syncedAt: now, syncError: null });
      const { queued: n } = await this.reconciler.reconcile(m, name);
      if (n)
        await this.audit.record(m, {
          action: 'delivery.queue',
          target: `factory:${name}`,
          detail: { queued: n, reason: 'entries' },
        });
      return n;
    });
    if (factory.syncError) this.log.log(`factory ${name} answers again; ${entries.length} entries`);
    return { factory: name, entries: entries.length, queued, error: null };
  }
}
