import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/errors.js';
import { Db } from '../database/db.js';
import { PutEntryDto } from './dto/put-entry.dto.js';
import { FactoryEntry } from './entry.entity.js';
import { entryResponse } from './entry.response.js';
import { WithdrawnCredential } from './withdrawn-credential.entity.js';
import { EventBus } from '../events/event-bus.js';
import { CachedCredential } from './cached-credential.entity.js';
import { forgetIdtokenVersions } from './idtoken-versions.store.js';

@Injectable()
export class EntriesService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly events: EventBus,
  ) {}

  put(name: string, dto: PutEntryDto): Promise<{ created: boolean; entry: FactoryEntry }> {
    return this.db.tx(async (m) => {
      const now = this.clock.now();
      const existing = await m.findOneBy(FactoryEntry, { name });
      const action = existing ? 'factory.entry.update' : 'factory.entry.create';
      this.audit.performs(action);
      const entry = Object.assign(new FactoryEntry(), {
        name,
        site: dto.site,
        gatekeeper: dto.gatekeeper,
        trustDomain: dto.trustDomain,
        authMethod: dto.authMethod,
        condorVersion: dto.condorVersion ?? null,
        securityClass: dto.securityClass ?? null,
        glideinScitoken: dto.glideinScitoken ?? false,
        maxPilotLifeSeconds: dto.maxPilotLifeSeconds ?? null,
        glideinBootstrap: dto.glideinBootstrap ?? 'ticket',
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      });
      await m.save(FactoryEntry, entry);
      await this.audit.record(m, { action, target: `entry:${name}`, detail: entryResponse(entry) });
      return { created: !existing, entry };
    });
  }

  list(): Promise<FactoryEntry[]> {
    return this.db.read((m) => m.find(FactoryEntry, { order: { name: 'ASC' } }));
  }

  /** Deletes the entry and, in the same transaction, the credentials cached for it (their files follow). */
  async remove(name: string): Promise<void> {
    await this.db.tx(async (m) => {
      if (!(await m.existsBy(FactoryEntry, { name }))) throw new DomainError('NOT_FOUND', 'no such entry');
      await this.removeIn(m, name);
    });
  }

  /** The deletion of an existing entry inside the caller's transaction (also the import's prune). */
  async removeIn(m: EntityManager, name: string): Promise<void> {
    const rows = await m.find(CachedCredential, { select: { frontend: true, entry: true, type: true }, where: { entry: name } });
    await m.delete(CachedCredential, { entry: name });
    await m.delete(WithdrawnCredential, { entry: name });
    await forgetIdtokenVersions(m, { entry: name });
    await m.delete(FactoryEntry, { name });
    await this.audit.record(m, { action: 'factory.entry.delete', target: `entry:${name}`, detail: { cachedCredentialsRemoved: rows.length } });
    if (rows.length)
      this.events.publish(m, 'cache.changed', { stored: [], removed: rows.map((r) => ({ frontend: r.frontend, entry: r.entry, type: r.type })) });
  }
}
