import { Injectable } from '@nestjs/common';
import { EntityManager, Not } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { ApiKeysService } from '../auth/api-keys.service.js';
import { actorName, Principal } from '../auth/principal.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/errors.js';
import { Db } from '../database/db.js';
import { asConflict } from '../database/unique-violation.js';
import { EventBus } from '../events/event-bus.js';
import { FrontendForgetters } from './frontend-forgetters.js';
import { frontendResponse, frontendWithApiKeyResponse } from './frontend.response.js';
import { forgetFrontendIdtokenVersions } from './idtoken-versions.store.js';
import { CachedCredential } from './cached-credential.entity.js';
import { RegisterFrontendDto } from './dto/register-frontend.dto.js';
import { UpdateFrontendDto } from './dto/update-frontend.dto.js';
import { localUserOf, RegisteredFrontend } from './registered-frontend.entity.js';
import { WithdrawnCredential } from './withdrawn-credential.entity.js';
import { rowLock } from '../database/sql.js';

/** The factory side of registration: the frontends whose envelopes it accepts. */
@Injectable()
export class FrontendsService {
  constructor(
    private readonly db: Db,
    private readonly keys: ApiKeysService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly events: EventBus,
    private readonly forgetters: FrontendForgetters,
  ) {}

  /** Registers a frontend and creates its API key (role frontend), both in one transaction; the key is returned once. */
  register(who: Principal, dto: RegisterFrontendDto) {
    // A concurrent register of the same frontend (its row, or its API key's name) is the same conflict.
    return this.db
      .tx(async (m) => {
        if ((await m.existsBy(RegisteredFrontend, { name: dto.name })) || (await m.existsBy(RegisteredFrontend, { publicKey: dto.publicKey }))) {
          throw new DomainError('FRONTEND_EXISTS', 'a frontend with this name or public key is registered', 'name');
        }
        // On PostgreSQL a concurrent register that committed between the check above and this one shows
        // first as its API key's name: the same conflict, said the same way.
        const { key, secret } = await this.keys.createIn(m, who, `frontend:${dto.name}`, ['frontend'], actorName(who)).catch((err: unknown) => {
          if (err instanceof DomainError && err.code === 'API_KEY_EXISTS')
            throw new DomainError(
              'FRONTEND_EXISTS',
              `a frontend with this name or public key is registered (or the API key name frontend:${dto.name} is taken)`,
              'name',
            );
          throw err;
        });
        const row = Object.assign(new RegisteredFrontend(), {
          name: dto.name,
          publicKey: dto.publicKey,
          apiKeyId: key.id,
          localUser: dto.localUser ?? null,
          createdAt: this.clock.now(),
        });
        await m.insert(RegisteredFrontend, row);
        await this.audit.record(m, {
          action: 'factory.frontend.register',
          target: `frontend:${dto.name}`,
          detail: { fingerprint: frontendResponse(row).fingerprint, apiKeyId: key.id, localUser: localUserOf(row) },
        });
        return frontendWithApiKeyResponse(row, secret);
      })
      .catch(asConflict(() => new DomainError('FRONTEND_EXISTS', 'a frontend with this name or public key is registered', 'name')));
  }

  /**
   * Re-pins a frontend's public key (out of band, e.g. after a compromise: envelopes sealed with the
   * old key are refused from the commit on) and/or rotates its API key (the new one returned once;
   * the old one revoked in the same transaction). Audited with old and new fingerprints.
   */
  async update(who: Principal, name: string, dto: UpdateFrontendDto) {
    if (dto.publicKey === undefined && dto.rotateApiKey === undefined)
      throw new DomainError('VALIDATION_FAILED', 'give publicKey or rotateApiKey', 'publicKey');
    const out = await this.db
      .tx(async (m) => {
        const f = await this.locked(m, name);
        const row = Object.assign(new RegisteredFrontend(), f);
        if (dto.publicKey !== undefined && dto.publicKey !== f.publicKey) {
          if (await m.existsBy(RegisteredFrontend, { publicKey: dto.publicKey, name: Not(name) }))
            throw new DomainError('FRONTEND_EXISTS', 'another registered frontend holds this public key', 'publicKey');
          row.publicKey = dto.publicKey;
        }
        let secret: string | undefined;
        if (dto.rotateApiKey) {
          await this.keys.retireIn(m, f.apiKeyId, actorName(who));
          const made = await this.keys.createIn(m, who, `frontend:${name}`, ['frontend'], actorName(who));
          row.apiKeyId = made.key.id;
          secret = made.secret;
        }
        await m.update(RegisteredFrontend, { name }, { publicKey: row.publicKey, apiKeyId: row.apiKeyId });
        const before = frontendResponse(f).fingerprint;
        const after = frontendResponse(row).fingerprint;
        await this.audit.record(m, {
          action: 'factory.frontend.update',
          target: `frontend:${name}`,
          detail: {
            ...(before !== after ? { fingerprint: { from: before, to: after } } : {}),
            ...(secret ? { apiKeyId: { from: f.apiKeyId, to: row.apiKeyId } } : {}),
          },
        });
        return secret ? frontendWithApiKeyResponse(row, secret) : frontendResponse(row);
      })
      .catch(asConflict(() => new DomainError('FRONTEND_EXISTS', 'another registered frontend holds this public key', 'publicKey')));
    return out;
  }

  /**
   * Forgets a frontend: its row; its API key (revoked); its cached credentials (their files go after
   * the commit) and withdrawn tombstones; its glideins' tickets (unused ones stop working) and
   * renewal credentials. One transaction. Two guards stay: seen envelope ids (until they age out)
   * and the keys it was followed away from (retired_frontend_keys): should the same frontend be
   * registered again, old envelopes are still refused as replays, and old keys cannot be followed back to.
   */
  async remove(who: Principal, name: string): Promise<void> {
    await this.db.tx(async (m) => {
      const f = await this.locked(m, name);
      const cached = await m.find(CachedCredential, { select: { frontend: true, entry: true, type: true }, where: { frontend: name } });
      const tombs = await m.find(WithdrawnCredential, { select: { frontend: true, entry: true, type: true }, where: { frontend: name } });
      await m.delete(CachedCredential, { frontend: name });
      await m.delete(WithdrawnCredential, { frontend: name });
      await forgetFrontendIdtokenVersions(m, name);
      // Its tickets and its glideins' renewal credentials (registered by tickets/ and glidein/).
      const forgotten = await this.forgetters.forget(m, name);
      await m.delete(RegisteredFrontend, { name });
      await this.keys.retireIn(m, f.apiKeyId, actorName(who));
      await this.audit.record(m, {
        action: 'factory.frontend.delete',
        target: `frontend:${name}`,
        detail: { fingerprint: frontendResponse(f).fingerprint, apiKeyId: f.apiKeyId, credentials: cached.length, withdrawn: tombs.length, ...forgotten },
      });
      // A tombstone's file is gone already, unless a crash came between its commit and the removal.
      const refs = [...cached, ...tombs].map((r) => ({ frontend: r.frontend, entry: r.entry, type: r.type }));
      if (refs.length) this.events.publish(m, 'cache.changed', { stored: [], removed: refs });
    });
  }

  /** The frontend's row, locked on PostgreSQL against a concurrent change or delete; 404 when unknown. */
  private async locked(m: EntityManager, name: string): Promise<RegisteredFrontend> {
    const f = await m.findOne(RegisteredFrontend, { where: { name }, ...rowLock(m, 'update') });
    if (!f) throw new DomainError('FRONTEND_NOT_FOUND', `no registered frontend named ${name}`);
    return f;
  }

  list(): Promise<RegisteredFrontend[]> {
    return this.db.read((m) => m.find(RegisteredFrontend, { order: { name: 'ASC' } }));
  }
}
