import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/errors.js';
import { Db } from '../database/db.js';
import { EventBus } from '../events/event-bus.js';
import { KEY_STATE, maySign } from '../sites/key-usability.js';
import { nextRotationAt } from '../sites/rotation-policy.js';
import { SiteKeysService } from '../sites/site-keys.service.js';
import { sitesStore } from '../sites/sites.store.js';
import { scramble } from '../crypto/condor-key.js';
import { PasswordsDirService } from '../passwords-dir/passwords-dir.service.js';
import { RenewalService } from '../current-token/renewal.service.js';
import { TokensService } from '../tokens/tokens.service.js';
import { RunsAs } from '../common/request-context.js';

export interface RotationResult {
  site: string;
  fromVersion: number;
  toVersion: number;
  kid: string;
  graceSeconds: number;
  graceUntil: string | null;
  rotatedAt: string;
}

/** The key name of a new version: the site name (immediate, GlideinWMS's way), or `<site>_v<N>` beside the old one (graceful). */
export const kidFor = (site: string, version: number, graceSeconds: number) => (graceSeconds > 0 ? `${site}_v${version}` : site);

/**
 * Key rotation. Immediate (grace 0): the new version takes the site's name as kid and every older
 * version is retired at once, so all earlier tokens fail with KEY_RETIRED. Graceful: the new version
 * gets its own kid so a collector can hold both files, and the previous active version keeps
 * verifying until its grace ends.
 */
@Injectable()
export class RotationService {
  private readonly log = new Logger('rotation');

  constructor(
    private readonly db: Db,
    private readonly keys: SiteKeysService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly events: EventBus,
    private readonly passwords: PasswordsDirService,
    private readonly renewal: RenewalService,
    private readonly tokens: TokensService,
  ) {}

  /** Rotates now (manual), or, `scheduled`, only if still due: another replica may have done it. */
  async rotate(name: string, opts: { graceSeconds?: number; scheduled?: boolean } = {}): Promise<RotationResult | null> {
    const raw = this.keys.generate();
    let result: RotationResult | null;
    let renewed = false;
    try {
      result = await this.db.tx(async (m) => {
        // Both locked FOR UPDATE (where the engine takes row locks): a mint holding the key FOR SHARE finishes first.
        const site = await sitesStore.byName(m, name, true);
        if (!site) throw new DomainError('SITE_NOT_FOUND', 'no such site');
        const now = this.clock.now();
        if (opts.scheduled && (!site.rotationEnabled || site.nextRotationAt === null || site.nextRotationAt > now)) return null;
        const live = await sitesStore.liveKeysOf(m, site.id, true);
        const foreign = this.passwords.foreignFiles([...new Set(live.map((k) => k.kid))]);
        if (foreign.length) {
          throw new DomainError(
            'KEY_FILE_FOREIGN',
            `passwords.d/${foreign.join(', passwords.d/')} was not written by glidekey (the collector's own key?): glidekey never replaces or removes such a file, so it cannot rotate this key without the collector going on accepting the old one. Rotate it with HTCondor's tools and import it again, or remove the file to hand it to glidekey (the next sync writes the site's current key there and manages it from then on)`,
          );
        }
        const grace = opts.graceSeconds ?? site.rotationGraceSeconds;
        const version = site.keyVersion + 1;
        const kid = kidFor(site.name, version, grace);
        const graceUntil = grace > 0 ? now + grace * 1000 : null;
        const retired: string[] = [];
        for (const k of live) {
          if (maySign(k) && graceUntil !== null) {
            await sitesStore.updateKey(m, { id: k.id }, { state: KEY_STATE.grace, graceUntil });
          } else if (graceUntil === null || (k.graceUntil !== null && k.graceUntil <= now)) {
            await sitesStore.updateKey(m, { id: k.id }, { state: KEY_STATE.retired, retiredAt: now });
            retired.push(k.id);
          }
        }
        const scrambled = scramble(raw);
        this.passwords.prewrite(kid, scrambled);
        scrambled.fill(0);
        const key = this.keys.newKey(site.id, version, kid, raw, 'generated');
        await sitesStore.insertKey(m, key);
        const next = nextRotationAt({ ...site, rotatedAt: now });
        const updated = await sitesStore.updateIfVersion(m, site.id, site.rowVersion, {
          keyVersion: version,
          rotatedAt: now,
          nextRotationAt: next,
          updatedAt: now,
          rowVersion: site.rowVersion + 1,
        });
        if (!updated) throw new DomainError('STALE_VERSION', `site ${name} changed concurrently; try again`);
        const r: RotationResult = {
          site: site.name,
          fromVersion: site.keyVersion,
          toVersion: version,
          kid,
          graceSeconds: grace,
          graceUntil: graceUntil === null ? null : new Date(graceUntil).toISOString(),
          rotatedAt: new Date(now).toISOString(),
        };
        await this.audit.record(m, {
          action: 'site.rotate',
          target: `site:${site.name}`,
          detail: { ...r, mode: grace > 0 ? 'graceful' : 'immediate', trigger: opts.scheduled ? 'scheduled' : 'manual' },
        });
        // The site's new current token, signed by the new version and queued for its factory
        // entries, commits with the rotation: one transaction, not three (ledger, current token).
        renewed = (await this.renewal.renewInRotation(m, site, key, raw)) !== null;
        if (retired.length) this.events.publish(m, 'keys.retired', { keyIds: retired });
        this.events.publish(m, 'keys.changed', { site: site.name });
        return r;
      });
      if (result && renewed) this.tokens.minted(result.site);
    } catch (err) {
      // The new key's file may have been written before the failed commit: put the directory back.
      await this.passwords.sync('change').catch(() => undefined);
      throw err;
    } finally {
      raw.fill(0);
    }
    return result;
  }

  /** Every site whose rotation is due, once each: after an outage, an overdue site rotates once, not once per missed tick. */
  @RunsAs('system:scheduler')
  async rotateDue(): Promise<RotationResult[]> {
    const due = await this.db.read((m) => sitesStore.due(m, this.clock.now()));
    const done: RotationResult[] = [];
    for (const { name } of due) {
      const r = await this.rotate(name, { scheduled: true }).catch((err: unknown) => {
        if (!(err instanceof DomainError && (err.code === 'SITE_NOT_FOUND' || err.code === 'STALE_VERSION'))) {
          // One site's failure (a passwords.d conflict, say) must not hold back the others.
          this.log.error({ err }, `scheduled rotation of site ${name} failed; it stays due`);
        }
        return null;
      });
      if (r) done.push(r);
    }
    return done;
  }

  /** Sets the next rotation time of enabled sites that have none (sites created before it was stored). */
  async backfillNextRotation(): Promise<string[]> {
    return this.db.tx(async (m) => {
      const missing = await sitesStore.missingNextRotation(m);
      for (const s of missing) await sitesStore.update(m, s.id, { nextRotationAt: nextRotationAt(s) });
      return missing.map((s) => s.name);
    });
  }

  /** Retires grace-period keys whose grace has ended. */
  @RunsAs('system:scheduler')
  async retireExpiredGrace(): Promise<number> {
    const retired = await this.db.tx(async (m) => {
      const now = this.clock.now();
      const ended = await sitesStore.graceEnded(m, now);
      for (const k of ended) {
        await sitesStore.updateKey(m, { id: k.id, state: KEY_STATE.grace }, { state: KEY_STATE.retired, retiredAt: now });
        const site = await sitesStore.byId(m, k.siteId);
        await this.audit.record(m, {
          action: 'site.key.retire',
          target: `site:${site?.name ?? k.siteId}`,
          detail: { version: k.version, kid: k.kid, reason: 'grace ended' },
        });
        this.events.publish(m, 'keys.changed', { site: site?.name ?? null });
      }
      if (ended.length) this.events.publish(m, 'keys.retired', { keyIds: ended.map((k) => k.id) });
      return ended.length;
    });
    return retired;
  }
}
