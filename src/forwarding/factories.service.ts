import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/errors.js';
import { Sealer } from '../crypto/sealer.js';
import { Db } from '../database/db.js';
import { publicKeyFingerprint } from '../identity/identity.service.js';
import { RegisterFactoryDto } from './dto/register-factory.dto.js';
import { Factory, factoryApiKeyAd } from './factory.entity.js';

/** A factory as the API shows it: never its API key. */
export const factoryResponse = (f: Factory) => ({
  name: f.name,
  url: f.url,
  publicKey: f.publicKey,
  fingerprint: publicKeyFingerprint(Buffer.from(f.publicKey, 'base64')),
  createdAt: new Date(f.createdAt).toISOString(),
  updatedAt: new Date(f.updatedAt).toISOString(),
});

/** The frontend side of registration: the factories it forwards to, their keys pinned. */
@Injectable()
export class FactoriesService {
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
      await this.audit.record(m, { action: 'factory.register', target: `factory:${dto.name}`, detail: { url: row.url, fingerprint: factoryResponse(row).fingerprint } });
      return factoryResponse(row);
    });
  }

  list(): Promise<Factory[]> {
    return this.db.read((m) => m.find(Factory, { order: { name: 'ASC' } }));
  }
}
