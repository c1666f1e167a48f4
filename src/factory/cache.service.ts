import { Injectable } from '@nestjs/common';
import { hash } from 'node:crypto';
import { Clock } from '../common/clock.js';
import { Settings } from '../config/settings.js';
import { Sealer } from '../crypto/sealer.js';
import { Db } from '../database/db.js';
import { EventBus } from '../events/event-bus.js';
import { parseAuthMethod, takesIdtokens } from '../protocol/matching.js';
import { CachedCredential, cachedCredentialAd, CredentialType } from './cached-credential.entity.js';
import { cacheResponse, CacheState, withdrawnResponse } from './cache.response.js';
import { FactoryEntry } from './entry.entity.js';
import { WithdrawnCredential } from './withdrawn-credential.entity.js';
import { query, sql } from '../database/sql.js';

export interface OpenedCredential {
  value: string;
  version: number;
  /** Unix milliseconds. */
  expiresAt: number;
}

/** At most this many opened credentials are remembered, and at most this many bytes of them (the oldest go first). */
const MAX_OPENED = 4096;
const MAX_OPENED_BYTES = 8 * 1024 * 1024;
const CREDENTIAL_TYPES: readonly CredentialType[] = ['idtoken', 'scitoken'];
const rowKey = (frontend: string, entry: string, type: CredentialType) => `${frontend}\0${entry}\0${type}`;

/** Reads the factory's cache: opened credentials for the glidein bootstrap, states for admins. */
@Injectable()
export class CacheService {
  /**
   * The opened value of each cached row (frontend, entry, type), with the associated data and a
   * digest of the sealed text it came from. Forgotten when the row changes or goes (`cache.changed`,
   * after its commit), when it expires, and oldest first beyond MAX_OPENED or MAX_OPENED_BYTES.
   */
  private readonly opened = new Map<string, { ad: string; sealedDigest: string; value: string; expiresAt: number }>();
  private openedBytes = 0;

  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
    private readonly clock: Clock,
    private readonly settings: Settings,
    events: EventBus,
  ) {
    events.on('cache.changed', ({ stored, removed }) => {
      for (const r of [...stored, ...removed]) this.forget(rowKey(r.frontend, r.entry, r.type));
    });
  }

  /**
   * The credentials one frontend sent for one entry, opened (for handing to a glidein). Read on
   * every glidein fetch and renewal, so by one plain query rather than TypeORM's find (whose query
   * building cost more than the read itself); the row is read every time, so a new version, a
   * withdrawal or a deletion shows at once.
   */
  async current(frontend: string, entry: string): Promise<Partial<Record<CredentialType, OpenedCredential>>> {
    const rows = await this.db.read((m) =>
      query<{ type: CredentialType; version: string | number; sealed_value: string; expires_at: string | number }>(
        m,
        sql`SELECT type, version, sealed_value, expires_at FROM cached_credentials WHERE frontend = ${frontend} AND entry = ${entry}`,
      ),
    );
    const out: Partial<Record<CredentialType, OpenedCredential>> = {};
    for (const r of rows) {
      const version = Number(r.version);
      const expiresAt = Number(r.expires_at);
      out[r.type] = {
        value: this.open(rowKey(frontend, entry, r.type), r.sealed_value, cachedCredentialAd({ frontend, entry, type: r.type, version }), expiresAt),
        version,
        expiresAt,
      };
    }
    // What is no longer cached (withdrawn, deleted) is forgotten here too.
    for (const type of CREDENTIAL_TYPES) if (!out[type]) this.forget(rowKey(frontend, entry, type));
    return out;
  }

  /**
   * Sealer.open, remembered per cached row for the exact sealed text (compared by SHA-256 digest)
   * under the same associated data (the row's version): the same bytes open to the same value, so
   * only a row that changed (a new version, a re-seal, damage) is opened again, and a ciphertext
   * that fails to open is never remembered. Every glidein of an entry gets the same few
   * credentials, which would otherwise be decrypted once per fetch. An expired credential is not
   * remembered, and a remembered one is dropped once it expires.
   */
  private open(row: string, sealed: string, ad: string, expiresAt: number): string {
    const sealedDigest = hash('sha256', sealed, 'base64');
    const known = this.opened.get(row);
    const now = this.clock.now();
    if (known && known.ad === ad && known.sealedDigest === sealedDigest && known.expiresAt > now) return known.value;
    const value = Buffer.from(this.sealer.open(sealed, ad)).toString('utf8');
    this.forget(row);
    if (expiresAt > now) {
      this.opened.set(row, { ad, sealedDigest, value, expiresAt });
      this.openedBytes += value.length;
      while (this.opened.size > MAX_OPENED || this.openedBytes > MAX_OPENED_BYTES) this.forget(this.opened.keys().next().value!);
    }
    return value;
  }

  private forget(row: string): void {
    const known = this.opened.get(row);
    if (!known) return;
    this.openedBytes -= known.value.length;
    this.opened.delete(row);
  }

  /** Which of one frontend's credentials for one entry it withdrew (for the glidein's refusal). */
  async withdrawn(frontend: string, entry: string): Promise<Set<CredentialType>> {
    const rows = await this.db.read((m) => m.find(WithdrawnCredential, { select: { type: true }, where: { frontend, entry } }));
    return new Set(rows.map((r) => r.type));
  }

  stateOf(expiresAt: number, nowMs: number): CacheState {
    const left = expiresAt - nowMs;
    if (left <= 0) return 'expired';
    return left < this.settings.config.factory.expiringSeconds * 1000 ? 'expiring' : 'valid';
  }

  /**
   * Every cached credential with its state, then every withdrawn one (`withdrawn`, the tombstone),
   * then every credential an entry needs that no frontend has sent (`missing`): an IDTOKEN where
   * the entry's HTCondor takes one, a SciToken where every auth-method alternative needs one.
   */
  async list(filter: { frontend?: string; entry?: string } = {}) {
    const now = this.clock.now();
    const where = { ...(filter.frontend ? { frontend: filter.frontend } : {}), ...(filter.entry ? { entry: filter.entry } : {}) };
    const order = { frontend: 'ASC', entry: 'ASC', type: 'ASC' } as const;
    const [rows, tombs, entries] = await this.db.read(
      async (m) =>
        [
          await m.find(CachedCredential, { where, order }),
          await m.find(WithdrawnCredential, { where, order }),
          await m.find(FactoryEntry, { where: filter.entry ? { name: filter.entry } : {}, order: { name: 'ASC' } }),
        ] as const,
    );
    const cached = [...rows.map((r) => cacheResponse(r, this.stateOf(r.expiresAt, now), now)), ...tombs.map(withdrawnResponse)];
    const have = new Set([...rows, ...tombs].map((r) => `${r.entry}\0${r.type}`));
    const missing = filter.frontend
      ? []
      : entries.flatMap((e) => {
          return needsOf(e)
            .filter((t) => !have.has(`${e.name}\0${t}`))
            .map((type) => ({
              frontend: null,
              entry: e.name,
              type,
              state: 'missing' as const,
              version: null,
              fingerprint: null,
              expiresAt: null,
              secondsToExpiry: null,
              receivedAt: null,
            }));
        });
    return [...cached, ...missing];
  }

  /**
   * The cache in figures for the metrics, by aggregate queries over indexed columns: per type, how
   * many credentials are valid, expiring or expired and the soonest expiry; and how many an entry
   * needs that no frontend sent. Only the entries' own rows (as many as the admin defined) reach JS.
   */
  async summary(): Promise<{
    byType: { type: CredentialType; valid: number; expiring: number; expired: number; soonest: number | null }[];
    missing: Record<CredentialType, number>;
    withdrawn: Record<CredentialType, number>;
    now: number;
  }> {
    const now = this.clock.now();
    const soon = now + this.settings.config.factory.expiringSeconds * 1000;
    const [rows, pairs, entries, tombs] = await this.db.read(
      async (m) =>
        [
          await m
            .createQueryBuilder(CachedCredential, 'c')
            .select('c.type', 'type')
            .addSelect('SUM(CASE WHEN c.expires_at <= :now THEN 1 ELSE 0 END)', 'expired')
            .addSelect('SUM(CASE WHEN c.expires_at > :now AND c.expires_at < :soon THEN 1 ELSE 0 END)', 'expiring')
            .addSelect('COUNT(*)', 'n')
            .addSelect('MIN(c.expires_at)', 'soonest')
            .setParameters({ now, soon })
            .groupBy('c.type')
            .getRawMany<{ type: CredentialType; expired: string | number; expiring: string | number; n: string | number; soonest: string | number | null }>(),
          await m
            .createQueryBuilder(CachedCredential, 'c')
            .select('c.entry', 'entry')
            .addSelect('c.type', 'type')
            .distinct(true)
            .getRawMany<{ entry: string; type: string }>(),
          await m.find(FactoryEntry, { select: { name: true, condorVersion: true, authMethod: true } }),
          await m
            .createQueryBuilder(WithdrawnCredential, 'w')
            .select('w.entry', 'entry')
            .addSelect('w.type', 'type')
            .distinct(true)
            .getRawMany<{ entry: string; type: CredentialType }>(),
        ] as const,
    );
    const have = new Set([...pairs, ...tombs].map((p) => `${p.entry}\0${p.type}`));
    const withdrawn: Record<CredentialType, number> = { idtoken: 0, scitoken: 0 };
    const cachedPairs = new Set(pairs.map((p) => `${p.entry}\0${p.type}`));
    // An entry with another frontend's credential of that type is not short of one.
    for (const t of tombs) if (!cachedPairs.has(`${t.entry}\0${t.type}`)) withdrawn[t.type]++;
    const missing: Record<CredentialType, number> = { idtoken: 0, scitoken: 0 };
    for (const e of entries) for (const t of needsOf(e)) if (!have.has(`${e.name}\0${t}`)) missing[t]++;
    const byType = rows.map((r) => {
      const [expired, expiring, n] = [Number(r.expired), Number(r.expiring), Number(r.n)];
      return { type: r.type, valid: n - expired - expiring, expiring, expired, soonest: r.soonest === null ? null : Number(r.soonest) };
    });
    return { byType, missing, withdrawn, now };
  }
}

/** The credentials an entry needs: an IDTOKEN where its HTCondor takes one, a SciToken where every auth-method alternative needs one. */
function needsOf(e: Pick<FactoryEntry, 'condorVersion' | 'authMethod'>): CredentialType[] {
  const needs: CredentialType[] = [];
  if (takesIdtokens(e.condorVersion)) needs.push('idtoken');
  const alts = parseAuthMethod(e.authMethod);
  if (alts.length && alts.every((a) => a.includes('scitoken'))) needs.push('scitoken');
  return needs;
}
