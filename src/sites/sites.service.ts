import { Injectable, OnModuleInit } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/errors.js';
import { Settings } from '../config/settings.js';
import { Random } from '../crypto/random.js';
import { Db } from '../database/db.js';
import { asConflict } from '../database/unique-violation.js';
import { CreateSiteDto } from './dto/create-site.dto.js';
import { SitePolicyDto } from './dto/site-policy.dto.js';
import { UpdateSiteDto } from './dto/update-site.dto.js';
import { importedKeyBytes, keyWarnings, Warning } from './key-material.js';
import { checkRotationPolicy, nextRotationAt, policyOf, RotationPolicy } from './rotation-policy.js';
import { isWiderThanPilot, Level, parseLevels, PILOT_LEVELS } from './scopes.js';
import { checkSiteName } from './site-name.js';
import { isUsable, KEY_STATE, LIVE_KEY_STATES } from './key-usability.js';
import { SiteKey } from './site-key.entity.js';
import { createdSiteResponse, siteDetailResponse, siteResponse } from './site.response.js';
import { Site } from './site.entity.js';
import { SiteKeysService } from './site-keys.service.js';
import { EventBus } from '../events/event-bus.js';
import { SiteHooks } from './site-hooks.js';
import { In } from 'typeorm';
import { rowLock } from '../database/sql.js';

export type SiteView = ReturnType<typeof siteResponse>;

/** A site's own GlideinWMS group list as stored: comma-separated (`''`: no group), null: the configured default. */
const groupsColumn = (groups: string[] | null | undefined) => (groups == null ? null : groups.join(','));

/** The site columns a checked policy sets, on create and on update alike. */
const policyColumns = (policy: { levels: Level[]; lifetime: number; maxLifetime: number }, rotation: RotationPolicy) => ({
  scopes: policy.levels.join(' '),
  lifetimeSeconds: policy.lifetime,
  maxLifetimeSeconds: policy.maxLifetime,
  rotationEnabled: rotation.enabled,
  rotationIntervalSeconds: rotation.intervalSeconds,
  rotationCron: rotation.cron,
  rotationGraceSeconds: rotation.graceSeconds,
});

/**
 * How long the mint path trusts a site and its active key without reading them again. Changes on
 * this replica drop the entry at once; the ledger writer refuses a token whose key was retired
 * meanwhile (anywhere), and the mint then reads afresh.
 */
const MINT_CACHE_MS = 1_000;

@Injectable()
export class SitesService implements OnModuleInit {
  private readonly mintCache = new Map<string, { site: Site; key: SiteKey; at: number }>();

  constructor(
    private readonly db: Db,
    private readonly keys: SiteKeysService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly settings: Settings,
    private readonly events: EventBus,
    private readonly hooks: SiteHooks,
    private readonly random: Random,
  ) {}

  onModuleInit(): void {
    // The mint path's cached view of a site goes with any committed change to the site or its keys.
    this.events.on('site.updated', ({ site }) => this.changed(site));
    this.events.on('site.deleted', ({ site }) => this.changed(site));
    this.events.on('keys.changed', ({ site }) => (site === null ? this.mintCache.clear() : this.changed(site)));
  }

  async create(dto: CreateSiteDto): Promise<SiteView & { warnings: Warning[] }> {
    const name = checkSiteName(dto.name);
    const cfg = this.settings.config;
    const maxLifetime = dto.maxLifetimeSeconds ?? cfg.tokens.maxLifetimeSeconds;
    const policy = this.checkPolicy(dto, {
      levels: PILOT_LEVELS,
      lifetime: dto.lifetimeSeconds ?? Math.min(cfg.tokens.defaultLifetimeSeconds, maxLifetime),
      maxLifetime,
    });
    const rotation = checkRotationPolicy(dto.rotation ?? { enabled: false }, this.clock.now());
    const raw = dto.key ? importedKeyBytes(dto.key) : this.keys.generate();
    const warnings = dto.key ? keyWarnings(raw) : [];
    const now = this.clock.now();
    const site = Object.assign(new Site(), {
      id: this.random.uuid(),
      name,
      issuer: dto.issuer ?? cfg.trustDomain,
      identity: dto.identity ?? `${name}@${cfg.frontend.name}`,
      ...policyColumns(policy, rotation),
      gwmsGroups: groupsColumn(dto.gwmsGroups),
      keyVersion: 1,
      rowVersion: 1,
      createdAt: now,
      updatedAt: now,
      rotatedAt: now,
      nextRotationAt: null as number | null,
    } satisfies Site);
    site.nextRotationAt = nextRotationAt(site);
    let key: SiteKey;
    try {
      key = this.keys.newKey(site.id, 1, name, raw, dto.key ? dto.key.format : 'generated');
    } finally {
      raw.fill(0);
    }
    await this.db
      .tx(async (m) => {
        if (await m.existsBy(Site, { name })) throw new DomainError('SITE_EXISTS', `site ${name} exists`, 'name');
        await m.insert(Site, site);
        await m.insert(SiteKey, key);
        await this.audit.record(m, {
          action: 'site.create',
          target: `site:${name}`,
          detail: {
            keyVersion: 1,
            keySource: key.source,
            keyFingerprint: key.fingerprint,
            scopes: policy.levels,
            issuer: site.issuer,
            ...(warnings.length ? { keyLength: key.keyLength, warnings: warnings.map((w) => w.code) } : {}),
          },
        });
        this.events.publish(m, 'keys.changed', { site: name });
      })
      .catch(asConflict(() => new DomainError('SITE_EXISTS', `site ${name} exists`, 'name')));
    return createdSiteResponse(site, key, now, warnings);
  }

  list(): Promise<SiteView[]> {
    return this.db.read(async (m) => {
      const now = this.clock.now();
      const sites = await m.find(Site, { order: { name: 'ASC' } });
      const keys = await m.find(SiteKey, { where: { state: KEY_STATE.active } });
      const byId = new Map(keys.map((k) => [k.siteId, k]));
      const counts = await this.hooks.tokenCounts(m, now);
      return sites.map((s) => siteResponse(s, byId.get(s.id)!, counts.get(s.id) ?? 0, now));
    });
  }

  /** One site, with its usable key versions and its current token's metadata. */
  get(name: string) {
    return this.db.read(async (m) => {
      const { site, key } = await this.load(m, name);
      const now = this.clock.now();
      const live = (await m.find(SiteKey, { where: { siteId: site.id, state: In([...LIVE_KEY_STATES]) }, order: { version: 'DESC' } })).filter((k) =>
        isUsable(k, now),
      );
      const current = await this.hooks.currentToken(m, site.id);
      return siteDetailResponse(site, key, (await this.hooks.tokenCounts(m, now, site.id)).get(site.id) ?? 0, now, live, current);
    });
  }

  async update(name: string, dto: UpdateSiteDto): Promise<SiteView> {
    const view = await this.db.tx(async (m) => {
      const { site, key } = await this.load(m, name);
      if (dto.rowVersion !== undefined && dto.rowVersion !== site.rowVersion) {
        throw new DomainError('STALE_VERSION', `site ${name} is at rowVersion ${site.rowVersion}`, 'rowVersion');
      }
      const maxLifetime = dto.maxLifetimeSeconds ?? site.maxLifetimeSeconds;
      const policy = this.checkPolicy(dto, {
        levels: site.scopes.split(' ') as Level[],
        lifetime: dto.lifetimeSeconds ?? Math.min(site.lifetimeSeconds, maxLifetime),
        maxLifetime,
      });
      const rotation = dto.rotation ? checkRotationPolicy(dto.rotation, this.clock.now()) : policyOf(site);
      const now = this.clock.now();
      const changes: Partial<Site> = {
        issuer: dto.issuer ?? site.issuer,
        identity: dto.identity ?? site.identity,
        ...policyColumns(policy, rotation),
        gwmsGroups: dto.gwmsGroups === undefined ? site.gwmsGroups : groupsColumn(dto.gwmsGroups),
        updatedAt: now,
        rowVersion: site.rowVersion + 1,
      };
      changes.nextRotationAt = nextRotationAt({ ...site, ...changes } as Site);
      const changed = Object.keys(changes).filter(
        (k) => !['updatedAt', 'rowVersion', 'nextRotationAt'].includes(k) && changes[k as keyof Site] !== site[k as keyof Site],
      );
      const res = await m.update(Site, { id: site.id, rowVersion: site.rowVersion }, changes);
      if (!res.affected) throw new DomainError('STALE_VERSION', `site ${name} changed concurrently; read it again`, 'rowVersion');
      Object.assign(site, changes);
      await this.audit.record(m, { action: 'site.update', target: `site:${name}`, detail: { changed } });
      this.events.publish(m, 'site.updated', { site: name });
      return siteResponse(site, key, (await this.hooks.tokenCounts(m, now, site.id)).get(site.id) ?? 0, now);
    });
    return view;
  }

  async remove(name: string): Promise<void> {
    await this.db.tx(async (m) => {
      const { site } = await this.load(m, name);
      // FOR UPDATE on PostgreSQL: waits for mints holding these keys FOR SHARE to commit.
      const keys = await m.find(SiteKey, { where: { siteId: site.id }, ...rowLock(m, 'update') });
      await m.delete(SiteKey, { siteId: site.id });
      // Its current token (rotation/'s), then the row itself.
      await this.hooks.runDeleting(m, site);
      await m.delete(Site, { id: site.id });
      // In the same transaction: every factory entry given this site's token gets its withdrawal (forwarding/'s).
      const counts = await this.hooks.runDeleted(m, site);
      await this.audit.record(m, { action: 'site.delete', target: `site:${name}`, detail: { keyVersions: keys.map((k) => k.version), ...counts } });
      this.events.publish(m, 'site.deleted', { site: name, siteId: site.id });
      this.events.publish(m, 'keys.retired', { keyIds: keys.map((k) => k.id) });
      this.events.publish(m, 'keys.changed', { site: name });
    });
  }

  /** The passwords.d file of the active key (or of a usable `version`). Exporting a key is audited. */
  async keyFile(name: string, version?: number): Promise<{ kid: string; bytes: Buffer }> {
    return this.db.tx(async (m) => {
      const loaded = await this.load(m, name);
      const { site } = loaded;
      const found = version === undefined ? loaded.key : await m.findOneBy(SiteKey, { siteId: site.id, version });
      const key = found && isUsable(found, this.clock.now()) ? found : null;
      if (!key) throw new DomainError('KEY_NOT_FOUND', `the site has no usable key version ${version}`, 'version');
      await this.audit.record(m, { action: 'site.keyfile.export', target: `site:${site.name}`, detail: { keyVersion: key.version, kid: key.kid } });
      return { kid: key.kid, bytes: this.keys.keyFile(key) };
    });
  }

  /** A site and its active key for minting: cached briefly, or read afresh when `fresh`. */
  async forMint(name: string, fresh: boolean): Promise<{ site: Site; key: SiteKey }> {
    const now = this.clock.now();
    const hit = this.mintCache.get(name);
    if (!fresh && hit && now - hit.at < MINT_CACHE_MS && now >= hit.at) return hit;
    const loaded = await this.db.read((m) => this.load(m, name));
    this.mintCache.set(name, { ...loaded, at: now });
    return loaded;
  }

  /** Drops the mint path's cached view of a site after a committed change to it (an event). */
  private changed(name: string): void {
    this.mintCache.delete(name);
  }

  /** A site and its active key. */
  async load(m: EntityManager, name: string): Promise<{ site: Site; key: SiteKey }> {
    const site = await m.findOneBy(Site, { name });
    if (!site) throw new DomainError('SITE_NOT_FOUND', 'no such site');
    const key = await m.findOneBy(SiteKey, { siteId: site.id, state: KEY_STATE.active });
    if (!key) throw new Error(`site ${name} has no active key`);
    return { site, key };
  }

  private checkPolicy(dto: SitePolicyDto, base: { levels: Level[]; lifetime: number; maxLifetime: number }) {
    const levels = dto.scopes ? parseLevels(dto.scopes) : base.levels;
    if (dto.scopes && isWiderThanPilot(levels) && !dto.widenScopes) {
      throw new DomainError('SCOPE_TOO_WIDE', 'scopes wider than a pilot needs (READ ADVERTISE_STARTD ADVERTISE_MASTER) require widenScopes: true', 'scopes');
    }
    const ceiling = this.settings.config.tokens.maxLifetimeSeconds;
    if (base.maxLifetime > ceiling) {
      throw new DomainError('LIFETIME_EXCEEDS_POLICY', `maxLifetimeSeconds must not exceed ${ceiling} (tokens.maxLifetimeSeconds)`, 'maxLifetimeSeconds');
    }
    if (base.lifetime > base.maxLifetime) {
      throw new DomainError('LIFETIME_EXCEEDS_POLICY', `lifetimeSeconds must not exceed maxLifetimeSeconds (${base.maxLifetime})`, 'lifetimeSeconds');
    }
    return { levels, lifetime: base.lifetime, maxLifetime: base.maxLifetime };
  }
}
