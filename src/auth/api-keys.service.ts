import { Injectable } from '@nestjs/common';
import { EntityManager, IsNull } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/errors.js';
import { Settings } from '../config/settings.js';
import { Random } from '../crypto/random.js';
import { Db } from '../database/db.js';
import { EventBus } from '../events/event-bus.js';
import { asConflict } from '../database/unique-violation.js';
import { ApiKey } from './api-key.entity.js';
import { timingSafeEqual } from 'node:crypto';
import { formatApiKey, hashSecret, hashSecretBytes, parseApiKey } from './api-key.secret.js';
import { ADMIN_ROLE_OF, API_ROLES, ApiRole, GRANTABLE, Principal } from './principal.js';

/** A hash that matches no secret, compared when the key id is unknown so both paths take the same time. */
const DUMMY_HASH = hashSecretBytes('no such key');

/**
 * How long a looked-up key row is trusted without reading it again. A revocation on this replica
 * takes effect at once; one made on another replica sharing the database, within this time.
 */
const AUTH_CACHE_MS = 5_000;

@Injectable()
export class ApiKeysService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly settings: Settings,
    private readonly events: EventBus,
  ) {
    // A key retired in another capability's transaction (a frontend's key rotated or deleted).
    this.events.on('api-keys.retired', ({ ids }) => ids.forEach((id) => this.evict(id)));
  }

  /** The roles this service can honour: those of its enabled service roles, plus auditor. */
  enabledRoles(): ApiRole[] {
    return API_ROLES.filter((r) => {
      if (r === 'frontend-admin' || r === 'credential-reader') return this.settings.hasRole('frontend');
      if (r === 'factory-admin' || r === 'frontend') return this.settings.hasRole('factory');
      return true;
    });
  }

  /** Looked-up rows by key id, with their stored hash as bytes and their roles split once (frozen: shared by every request). */
  private readonly cache = new Map<string, { key: ApiKey; at: number; hash: Buffer; roles: ApiRole[] }>();
  /**
   * Counts evictions: a lookup whose read began before an eviction (a revocation committing while
   * the SELECT was in flight, on PostgreSQL) may have read the row as it was, so it is not cached.
   */
  private evictions = 0;

  private evict(id: string): void {
    this.evictions++;
    this.cache.delete(id);
  }

  /** Resolves a bearer secret to its principal, or undefined. Constant time in the secret. */
  async authenticate(bearer: string): Promise<Principal | undefined> {
    const parsed = parseApiKey(bearer);
    if (!parsed) return undefined;
    const hit = await this.lookup(parsed.id);
    const stored = hit && hit.hash.length === DUMMY_HASH.length ? hit.hash : DUMMY_HASH;
    const ok = timingSafeEqual(hashSecretBytes(parsed.secret), stored);
    if (!hit || !ok || stored === DUMMY_HASH || hit.key.revokedAt !== null) return undefined;
    return { kind: 'api-key', id: hit.key.id, name: hit.key.name, roles: hit.roles };
  }

  private async lookup(id: string) {
    const now = this.clock.now();
    const hit = this.cache.get(id);
    if (hit && now - hit.at < AUTH_CACHE_MS && now >= hit.at) return hit;
    const evictionsBefore = this.evictions;
    const key = await this.db.read((m) => m.findOneBy(ApiKey, { id }));
    // Unknown ids are not cached: a flood of made-up ids must not grow this map.
    if (!key) {
      this.cache.delete(id);
      return undefined;
    }
    const entry = { key, at: now, hash: Buffer.from(key.secretHash, 'hex'), roles: Object.freeze(key.roles.split(',')) as ApiRole[] };
    if (this.evictions === evictionsBefore) this.cache.set(id, entry);
    return entry;
  }

  /**
   * Creates a key. `grantor` undefined means the host's CLI (root on the box), which may grant any
   * enabled role; a REST caller may grant only what GRANTABLE allows its own roles.
   */
  async create(grantor: Principal | undefined, name: string, roles: ApiRole[], createdBy: string): Promise<{ key: ApiKey; secret: string }> {
    // Two creates of one name at once both pass the existence check; the loser's insert is a conflict.
    return this.db
      .tx((m) => this.createIn(m, grantor, name, roles, createdBy))
      .catch(asConflict(() => new DomainError('API_KEY_EXISTS', `an API key named ${name} exists`, 'name')));
  }

  /** create() inside the caller's transaction, so a key and the row it belongs to land together. */
  async createIn(
    m: EntityManager,
    grantor: Principal | undefined,
    name: string,
    roles: ApiRole[],
    createdBy: string,
  ): Promise<{ key: ApiKey; secret: string }> {
    const unique = [...new Set(roles)];
    const enabled = this.enabledRoles();
    const off = unique.find((r) => !enabled.includes(r));
    if (off) throw new DomainError('INVALID_ROLE', `role ${off} is not enabled on this service`, 'roles');
    if (grantor) {
      const may = new Set(grantor.roles.flatMap((r) => GRANTABLE[r]));
      const denied = unique.find((r) => !may.has(r));
      if (denied) throw new DomainError('ROLE_NOT_GRANTABLE', `your roles cannot grant ${denied}`, 'roles');
    }
    const id = this.random.hex(8);
    const secret = this.random.keyBytes(32).toString('base64url');
    const key = Object.assign(new ApiKey(), {
      id,
      name,
      roles: unique.join(','),
      secretHash: hashSecret(secret),
      createdBy,
      createdAt: this.clock.now(),
      revokedAt: null,
    });
    if (await m.existsBy(ApiKey, { name })) throw new DomainError('API_KEY_EXISTS', `an API key named ${name} exists`, 'name');
    await m.insert(ApiKey, key);
    await this.audit.record(m, { action: 'apikey.create', target: `apikey:${name}`, actor: createdBy, detail: { id, roles: unique } });
    return { key, secret: formatApiKey(id, secret) };
  }

  list(): Promise<ApiKey[]> {
    return this.db.read((m) => m.find(ApiKey, { order: { createdAt: 'ASC' } }));
  }

  /** Revokes by id or name. A REST caller may revoke only keys whose roles it could have granted. */
  async revoke(grantor: Principal | undefined, idOrName: string, actor: string): Promise<ApiKey> {
    const key = await this.db.tx(async (m) => {
      const key = (await m.findOneBy(ApiKey, { id: idOrName })) ?? (await m.findOneBy(ApiKey, { name: idOrName }));
      if (!key) throw new DomainError('API_KEY_NOT_FOUND', 'no such API key');
      if (grantor) {
        const may = new Set(grantor.roles.flatMap((r) => GRANTABLE[r]));
        if (!key.roles.split(',').every((r) => may.has(r as ApiRole))) throw new DomainError('ROLE_NOT_GRANTABLE', 'your roles cannot revoke this key');
      }
      if (key.revokedAt === null) {
        key.revokedAt = this.clock.now();
        await m.update(ApiKey, { id: key.id, revokedAt: IsNull() }, { revokedAt: key.revokedAt });
        await this.audit.record(m, { action: 'apikey.revoke', target: `apikey:${key.name}`, actor, detail: { id: key.id } });
      }
      return key;
    });
    // After the commit, so no lookup that began before it can leave the unrevoked row cached.
    this.evict(key.id);
    return key;
  }

  /**
   * Revokes a key in the caller's transaction and renames it `revoked-<id>:<name>`, so its name is
   * free for a successor (a frontend's key rotated, or the frontend registered again). The lookup
   * cache forgets it once the transaction committed (the api-keys.retired event).
   */
  async retireIn(m: EntityManager, id: string, actor?: string): Promise<void> {
    const key = await m.findOneBy(ApiKey, { id });
    if (!key) return;
    const name = `revoked-${key.id}:${key.name}`.slice(0, 64);
    await m.update(ApiKey, { id }, { name, revokedAt: key.revokedAt ?? this.clock.now() });
    await this.audit.record(m, { action: 'apikey.revoke', target: `apikey:${key.name}`, actor, detail: { id, renamed: name } });
    this.events.publish(m, 'api-keys.retired', { ids: [id] });
  }

  /** True when no key was ever created: the first start hands out an admin key. */
  async none(): Promise<boolean> {
    return (await this.db.read((m) => m.count(ApiKey))) === 0;
  }

  adminRoles(): ApiRole[] {
    return this.settings.config.roles.map((r) => ADMIN_ROLE_OF[r]);
  }
}
