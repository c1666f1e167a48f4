import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/errors.js';
import { iso } from '../common/time.js';
import { Sealer } from '../crypto/sealer.js';
import { Db } from '../database/db.js';
import { asConflict } from '../database/unique-violation.js';
import { publicKeyFingerprint } from '../identity/identity.service.js';
import { Site } from '../sites/site.entity.js';
import { RegisterFactoryDto } from './dto/register-factory.dto.js';
import { Factory, factoryApiKeyAd } from './factory.entity.js';
import { idtokenFor, SciTokenLabel, scitokenFor } from './matching.js';
import { sciTokenLabels } from './outbox.service.js';
import { SeenEntry } from './seen-entry.entity.js';

/** A factory as the API shows it: never its API key. */
export const factoryResponse = (f: Factory) => ({
  name: f.name,
  url: f.url,
  publicKey: f.publicKey,
  fingerprint: publicKeyFingerprint(Buffer.from(f.publicKey, 'base64')),
  createdAt: iso(f.createdAt),
  updatedAt: iso(f.updatedAt),
  syncedAt: iso(f.syncedAt),
  syncError: f.syncError,
});

/** An entry as last seen, with what this frontend sends it and, where nothing, why. */
const seenEntryResponse = (e: SeenEntry, sites: ReadonlySet<string>, labels: SciTokenLabel[]) => {
  const idtoken = idtokenFor(e, sites);
  const scitoken = scitokenFor(e, labels, e.securityClass);
  return {
    name: e.entry,
    site: e.site,
    gatekeeper: e.gatekeeper,
    trustDomain: e.trustDomain,
    authMethod: e.authMethod,
    condorVersion: e.condorVersion,
    securityClass: e.securityClass,
    seenAt: iso(e.seenAt),
    idtoken: idtoken.send ? { send: true, site: e.site } : { send: false, reason: idtoken.reason },
    scitoken: scitoken.token ? { send: true, name: scitoken.token.name, match: scitoken.match } : { send: false, reason: scitoken.reason },
  };
};

/** The frontend side of registration: the factories it forwards to, their keys pinned. */
@Injectable()
export class FactoriesService {
  private readonly log = new Logger('forwarding');

  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  register(dto: RegisterFactoryDto) {
    return this.db.tx(async (m) => {
      if (await m.existsBy(Factory, { name: dto.name })) throw new DomainError('FACTORY_EXISTS', `a factory named ${dto.name} is registered`, 'name');
      const now = this.clock.now();
      const row = Object.assign(new Factory(), {
        name: dto.name,
        url: dto.url.replace(/\/+$/, ''),
        publicKey: dto.publicKey,
        sealedApiKey: this.sealer.seal(Buffer.from(dto.apiKey), factoryApiKeyAd(dto.name)),
        createdAt: now,
        updatedAt: now,
        syncedAt: null,
        syncError: null,
      });
      await m.insert(Factory, row);
      const host = new URL(row.url).hostname;
      if (row.url.startsWith('http:') && !['localhost', '127.0.0.1', '[::1]'].includes(host)) {
        // Envelopes are sealed either way, but the API key in each request's header is not.
        this.log.warn(`factory ${dto.name} is registered at a plain http:// URL: its API key will cross the network unencrypted; use https://`);
      }
      await this.audit.record(m, { action: 'factory.register', target: `factory:${dto.name}`, detail: { url: row.url, fingerprint: factoryResponse(row).fingerprint } });
      return factoryResponse(row);
    }).catch(asConflict(() => new DomainError('FACTORY_EXISTS', `a factory named ${dto.name} is registered`, 'name')));
  }

  /** Every factory with its entries as last seen, and per entry what it gets or why not. */
  list() {
    return this.db.read(async (m) => {
      const factories = await m.find(Factory, { order: { name: 'ASC' } });
      const entries = await m.find(SeenEntry, { order: { factory: 'ASC', entry: 'ASC' } });
      const sites = new Set((await m.find(Site, { select: { name: true } })).map((s) => s.name));
      const labels = await sciTokenLabels(m, this.clock.now());
      return factories.map((f) => ({ ...factoryResponse(f), entries: entries.filter((e) => e.factory === f.name).map((e) => seenEntryResponse(e, sites, labels)) }));
    });
  }
}
