import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EntityManager, In } from 'typeorm';
import { Clock } from '../common/clock.js';
import { EventBus } from '../events/event-bus.js';
import { Sealer } from '../crypto/sealer.js';
import type { CredentialType } from '../factory/cached-credential.entity.js';
import { CurrentToken, currentTokenAd } from '../rotation/current-token.entity.js';
import { SciToken, sciTokenAd } from '../scitokens/scitoken.entity.js';
import { Site } from '../sites/site.entity.js';
import { Delivery, deliveryAd } from './delivery.entity.js';
import { idtokenFor, SciTokenLabel, sciTokenLabel, scitokenFor } from './matching.js';
import { SeenEntry } from './seen-entry.entity.js';

/** A credential to forward: what it is, which version of its source, and its value. */
export interface OutgoingCredential {
  type: CredentialType;
  /** The site (idtoken) or the SciToken's name. */
  source: string;
  /** The token's jti, or the SciToken's fingerprint. */
  sourceRef: string;
  keyId: string | null;
  value: string;
  /** Unix milliseconds. */
  expiresAt: number;
}

/** The SciTokens an entry may be given: stored, not revoked, not expired. */
export async function sciTokenLabels(m: EntityManager, nowMs: number): Promise<SciTokenLabel[]> {
  const rows = await m.find(SciToken, { select: { name: true, trustDomain: true, securityClass: true, audience: true, profile: true, allEntries: true, expiresAt: true, sealedToken: true, revokedAt: true } });
  return rows.filter((r) => r.sealedToken !== null && r.revokedAt === null && r.expiresAt !== null && r.expiresAt * 1000 > nowMs).map(sciTokenLabel);
}

/**
 * The outbox. Every credential to deliver becomes a row in the transaction of the change that
 * produced it (a renewal, a SciToken update, a factory's new entries), so a crash can lose nothing
 * that was committed; a newer row for the same factory entry supersedes an undelivered older one.
 */
@Injectable()
export class OutboxService {
  constructor(
    private readonly sealer: Sealer,
    private readonly clock: Clock,
    private readonly events: EventBus,
  ) {}

  /** Queues a new credential for every entry that should get it; in the caller's transaction. Returns the number of rows. */
  async enqueue(m: EntityManager, cred: OutgoingCredential): Promise<number> {
    const entries = await m.find(SeenEntry, cred.type === 'idtoken' ? { where: { site: cred.source } } : {});
    let targets: SeenEntry[];
    if (cred.type === 'idtoken') {
      targets = entries.filter((e) => idtokenFor(e, new Set([cred.source])).send);
    } else {
      const labels = await sciTokenLabels(m, this.clock.now());
      targets = entries.filter((e) => scitokenFor(e, labels, e.securityClass).token?.name === cred.source);
    }
    for (const t of targets) await this.enqueueTo(m, t, cred);
    return targets.length;
  }

  /**
   * Brings one factory's outbox in line with its entries as last seen: every entry whose current
   * credential has not been queued yet gets it; undelivered rows for entries that are gone, or that
   * no longer get that credential, are dropped. In the caller's transaction; returns rows queued.
   */
  async reconcile(m: EntityManager, factory: string): Promise<number> {
    const now = this.clock.now();
    const entries = await m.find(SeenEntry, { where: { factory } });
    const sites = await m.find(Site, { select: { id: true, name: true } });
    const siteNames = new Set(sites.map((s) => s.name));
    const current = new Map((await m.find(CurrentToken)).map((c) => [c.siteId, c]));
    const currentBySite = new Map(sites.flatMap((s) => (current.has(s.id) ? [[s.name, current.get(s.id)!] as const] : [])));
    const labels = await sciTokenLabels(m, now);
    const latest = await this.latestPerTarget(m, factory);
    const wanted = new Set<string>();
    let queued = 0;
    for (const e of entries) {
      const token = currentBySite.get(e.site);
      if (token && idtokenFor(e, siteNames).send) {
        wanted.add(`${e.entry}\0idtoken`);
        if (latest.get(`${e.entry}\0idtoken`)?.sourceRef !== token.jti) {
          const value = Buffer.from(this.sealer.open(token.sealedToken, currentTokenAd(token.siteId, token.jti))).toString('utf8');
          await this.enqueueTo(m, e, { type: 'idtoken', source: e.site, sourceRef: token.jti, keyId: token.keyId, value, expiresAt: token.expiresAt });
          queued++;
        }
      }
      const chosen = scitokenFor(e, labels, e.securityClass).token;
      if (chosen) {
        wanted.add(`${e.entry}\0scitoken`);
        const row = await m.findOneByOrFail(SciToken, { name: chosen.name });
        if (latest.get(`${e.entry}\0scitoken`)?.sourceRef !== row.fingerprint) {
          const value = Buffer.from(this.sealer.open(row.sealedToken!, sciTokenAd(row.name))).toString('utf8');
          await this.enqueueTo(m, e, { type: 'scitoken', source: row.name, sourceRef: row.fingerprint!, keyId: null, value, expiresAt: row.expiresAt! * 1000 });
          queued++;
        }
      }
    }
    const stale = (await m.find(Delivery, { select: { id: true, entry: true, type: true }, where: { factory, state: 'pending' } })).filter((d) => !wanted.has(`${d.entry}\0${d.type}`));
    if (stale.length) await this.settle(m, stale.map((d) => d.id), 'dropped', 'NO_LONGER_MATCHES');
    return queued;
  }

  /** Drops the undelivered rows of a source (a revoked SciToken, a deleted site); in the caller's transaction. */
  async dropSource(m: EntityManager, type: CredentialType, source: string, reason: string): Promise<void> {
    const ids = (await m.find(Delivery, { select: { id: true }, where: { type, source, state: 'pending' } })).map((d) => d.id);
    await this.settle(m, ids, 'dropped', reason);
  }

  /** Ends pending rows (delivered, dropped, refused, superseded) and wipes their sealed values; only rows still pending change. */
  async settle(m: EntityManager, ids: string[], state: Exclude<Delivery['state'], 'pending'>, reason: string | null): Promise<number> {
    let changed = 0;
    const now = this.clock.now();
    for (let i = 0; i < ids.length; i += 500) {
      const res = await m.update(
        Delivery,
        { id: In(ids.slice(i, i + 500)), state: 'pending' },
        { state, sealedValue: null, lastError: reason, updatedAt: now, ...(state === 'delivered' ? { deliveredAt: now } : {}) },
      );
      changed += res.affected ?? 0;
    }
    return changed;
  }

  private async enqueueTo(m: EntityManager, target: Pick<SeenEntry, 'factory' | 'entry'>, cred: OutgoingCredential): Promise<void> {
    const now = this.clock.now();
    const where = { factory: target.factory, entry: target.entry, type: cred.type };
    const last = await m.findOne(Delivery, { select: { version: true }, where, order: { version: 'DESC' } });
    // Versions only grow per factory entry, even if the clock steps back: the factory keeps the highest.
    const version = Math.max((last?.version ?? 0) + 1, now);
    await m.update(Delivery, { ...where, state: 'pending' }, { state: 'superseded', sealedValue: null, lastError: null, updatedAt: now });
    const id = randomUUID();
    await m.insert(Delivery, {
      id,
      ...where,
      source: cred.source,
      sourceRef: cred.sourceRef,
      keyId: cred.keyId,
      version,
      expiresAt: cred.expiresAt,
      sealedValue: this.sealer.seal(Buffer.from(cred.value, 'utf8'), deliveryAd(id)),
      state: 'pending',
      attempts: 0,
      nextAttemptAt: now,
      lastError: null,
      createdAt: now,
      updatedAt: now,
      deliveredAt: null,
    } satisfies Delivery);
    this.events.publish(m, 'outbox.queued', { factory: target.factory });
  }

  /** The newest row of each (entry, type) of a factory, whatever its state. */
  private async latestPerTarget(m: EntityManager, factory: string): Promise<Map<string, Delivery>> {
    const rows = await m
      .createQueryBuilder(Delivery, 'd')
      .select(['d.entry', 'd.type', 'd.version', 'd.sourceRef'])
      .where('d.factory = :factory', { factory })
      .andWhere('NOT EXISTS (SELECT 1 FROM deliveries n WHERE n.factory = d.factory AND n.entry = d.entry AND n.type = d.type AND n.version > d.version)')
      .getMany();
    return new Map(rows.map((d) => [`${d.entry}\0${d.type}`, d]));
  }
}
