import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/errors.js';
import { Settings } from '../config/settings.js';
import { Sealer } from '../crypto/sealer.js';
import { Db } from '../database/db.js';
import { EventBus } from '../events/event-bus.js';
import { asConflict } from '../database/unique-violation.js';
import { sitesStore } from '../sites/sites.store.js';
import { Delivery } from './delivery.entity.js';
import { plainHttpOffLoopback, RegisterFactoryDto } from './dto/register-factory.dto.js';
import { UpdateFactoryDto } from './dto/update-factory.dto.js';
import { Factory, factoryApiKeyAd } from './factory.entity.js';
import { CredentialSources } from './credential-sources.js';
import { factoryResponse, factoryWithEntriesResponse } from './factory.response.js';
import { SeenEntry } from './seen-entry.entity.js';
import { rowLock } from '../database/sql.js';

/** The frontend side of registration: the factories it forwards to, their keys pinned. */
@Injectable()
export class FactoriesService {
  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly settings: Settings,
    private readonly events: EventBus,
    private readonly sources: CredentialSources,
  ) {}

  register(dto: RegisterFactoryDto) {
    this.requireSecure(dto.url);
    return this.db
      .tx(async (m) => {
        if (await m.existsBy(Factory, { name: dto.name })) throw new DomainError('FACTORY_EXISTS', `a factory named ${dto.name} is registered`, 'name');
        const now = this.clock.now();
        const row = Object.assign(new Factory(), {
          name: dto.name,
          url: dto.url.replace(/\/+$/, ''),
          publicKey: dto.publicKey,
          sealedApiKey: this.sealer.seal(Buffer.from(dto.apiKey), factoryApiKeyAd(dto.name)),
          createdAt: now,
          updatedAt: now,
          rowVersion: 1,
          syncedAt: null,
          syncError: null,
        });
        await m.insert(Factory, row);
        await this.audit.record(m, {
          action: 'factory.register',
          target: `factory:${dto.name}`,
          detail: { url: row.url, fingerprint: factoryResponse(row).fingerprint },
        });
        return factoryResponse(row);
      })
      .catch(asConflict(() => new DomainError('FACTORY_EXISTS', `a factory named ${dto.name} is registered`, 'name')));
  }

  /**
   * Changes a factory's URL, the API key it gave us (sealed again, never shown) or its pinned public
   * key, in one transaction with its audit line (old and new URL and fingerprint, never the key).
   * Its pending deliveries are due at once, so the next envelope goes to the new URL, sealed to the new key.
   */
  update(name: string, dto: UpdateFactoryDto) {
    if (dto.url === undefined && dto.apiKey === undefined && dto.publicKey === undefined)
      throw new DomainError('VALIDATION_FAILED', 'give at least one of url, apiKey, publicKey', 'url');
    if (dto.url !== undefined) this.requireSecure(dto.url);
    return this.db.tx(async (m) => {
      const f = await this.locked(m, name);
      if (dto.rowVersion !== undefined && dto.rowVersion !== f.rowVersion)
        throw new DomainError('STALE_VERSION', `factory ${name} is at rowVersion ${f.rowVersion}`, 'rowVersion');
      const now = this.clock.now();
      const next = Object.assign(new Factory(), f, { updatedAt: now, rowVersion: f.rowVersion + 1 });
      if (dto.url !== undefined) next.url = dto.url.replace(/\/+$/, '');
      // The API key goes in a header to whatever the URL names: a new host (a typo, another
      // factory) must come with the key meant for it, or the old factory's key would be sent there.
      if (dto.apiKey === undefined && new URL(next.url).hostname !== new URL(f.url).hostname) {
        throw new DomainError('VALIDATION_FAILED', "a url on another host needs that factory's apiKey in the same request", 'apiKey');
      }
      if (dto.publicKey !== undefined) next.publicKey = dto.publicKey;
      if (dto.apiKey !== undefined) next.sealedApiKey = this.sealer.seal(Buffer.from(dto.apiKey), factoryApiKeyAd(name));
      // Conditional on the version read, as for sites: a second writer never overwrites a change it did not see.
      // Another URL or key may be another glidekey, which has not seen our current identity yet: key proofs go to it again during a transition.
      if (next.url !== f.url || next.publicKey !== f.publicKey) next.acceptedIdentityKey = null;
      const res = await m.update(
        Factory,
        { name, rowVersion: f.rowVersion },
        {
          url: next.url,
          publicKey: next.publicKey,
          sealedApiKey: next.sealedApiKey,
          updatedAt: now,
          rowVersion: next.rowVersion,
          acceptedIdentityKey: next.acceptedIdentityKey,
        },
      );
      if (!res.affected) throw new DomainError('STALE_VERSION', `factory ${name} changed concurrently; read it again`, 'rowVersion');
      const before = factoryResponse(f);
      const after = factoryResponse(next);
      const changed = [
        ...(next.url !== f.url ? ['url'] : []),
        ...(dto.apiKey !== undefined ? ['apiKey'] : []),
        ...(next.publicKey !== f.publicKey ? ['publicKey'] : []),
      ];
      const retried = (await m.update(Delivery, { factory: name, state: 'pending' }, { nextAttemptAt: now })).affected ?? 0;
      if (retried) this.events.publish(m, 'outbox.queued', { factory: name });
      await this.audit.record(m, {
        action: 'factory.update',
        target: `factory:${name}`,
        detail: {
          changed,
          ...(changed.includes('url') ? { url: { from: before.url, to: after.url } } : {}),
          ...(changed.includes('publicKey') ? { fingerprint: { from: before.fingerprint, to: after.fingerprint } } : {}),
          retried,
        },
      });
      return after;
    });
  }

  /**
   * Forgets a factory: its row, its outbox (pending and settled deliveries) and its entries as last
   * seen, in one transaction. Nothing is sent to it afterwards; what it already holds stays there
   * until it expires or its admin deletes this frontend.
   */
  remove(name: string) {
    return this.db.tx(async (m) => {
      const f = await this.locked(m, name);
      const pending = await m.countBy(Delivery, { factory: name, state: 'pending' });
      const deliveries = (await m.delete(Delivery, { factory: name })).affected ?? 0;
      const entries = (await m.delete(SeenEntry, { factory: name })).affected ?? 0;
      await m.delete(Factory, { name });
      await this.audit.record(m, {
        action: 'factory.delete',
        target: `factory:${name}`,
        detail: { url: f.url, fingerprint: factoryResponse(f).fingerprint, deliveries, pending, entries },
      });
    });
  }

  /** The factory row, locked on PostgreSQL against a concurrent change, sync or delete; 404 when unknown. */
  private async locked(m: EntityManager, name: string): Promise<Factory> {
    const f = await m.findOne(Factory, { where: { name }, ...rowLock(m, 'update') });
    if (!f) throw new DomainError('FACTORY_NOT_FOUND', `no factory named ${name} is registered`);
    return f;
  }

  /** Envelopes are sealed either way, but the API key in each request's header is not: plain http only on loopback, unless allowed. */
  private requireSecure(url: string): void {
    if (plainHttpOffLoopback(url) && !this.settings.config.forwarding.allowHttp) {
      throw new DomainError(
        'FACTORY_URL_INSECURE',
        'url is plain http:// off loopback: its API key would cross the network in clear; use https:// (or set forwarding.allowHttp)',
        'url',
      );
    }
  }

  /** Every factory with its entries as last seen, and per entry what it gets or why not. */
  list() {
    return this.db.read(async (m) => {
      const factories = await m.find(Factory, { order: { name: 'ASC' } });
      const entries = await m.find(SeenEntry, { order: { factory: 'ASC', entry: 'ASC' } });
      const sites = new Set(await sitesStore.names(m));
      const labels = await this.sources.scitokens.labels(m, this.clock.now());
      return factories.map((f) =>
        factoryWithEntriesResponse(
          f,
          entries.filter((e) => e.factory === f.name),
          sites,
          labels,
        ),
      );
    });
  }
}
