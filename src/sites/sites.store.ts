import { EntityManager, In, IsNull, LessThanOrEqual, SelectQueryBuilder } from 'typeorm';
import { SiteKey } from './site-key.entity.js';
import { Site } from './site.entity.js';
import { KEY_STATE, LIVE_KEY_STATES } from './key-usability.js';
import type { SiteKeyRecord, SiteRecord } from './sites.types.js';
import { chunks, rowLock } from '../database/sql.js';

/** FOR UPDATE when asked (`lock`), as the engine takes it (rowLock: SQLite's write transaction already excludes other writers). */
const forUpdate = (m: EntityManager, lock: boolean) => (lock ? rowLock(m, 'update') : {});

/** Key states not yet retired (key-usability.ts): a grace period's end is not looked at. */
const LIVE = [...LIVE_KEY_STATES];

/**
 * The sites and site_keys tables as the other frontend capabilities (tokens, rotation,
 * forwarding) read and change them: every call runs on the caller's EntityManager, so it is part
 * of the caller's read or transaction. Sealed key bytes are opened only by SiteKeysService.
 */
export const sitesStore = {
  // --- sites

  /** Every site, or the one named `name` (none when unknown). */
  all: (m: EntityManager, name?: string): Promise<SiteRecord[]> => m.find(Site, name ? { where: { name } } : {}),
  count: (m: EntityManager): Promise<number> => m.count(Site),
  byId: (m: EntityManager, id: string): Promise<SiteRecord | null> => m.findOneBy(Site, { id }),
  /** The site named `name`, locked FOR UPDATE when `lock`. */
  byName: (m: EntityManager, name: string, lock = false): Promise<SiteRecord | null> => m.findOne(Site, { where: { name }, ...forUpdate(m, lock) }),
  async names(m: EntityManager): Promise<string[]> {
    return (await m.find(Site, { select: { name: true } })).map((s) => s.name);
  },
  /** Site id -> name, for every site. */
  async namesById(m: EntityManager): Promise<Map<string, string>> {
    return new Map((await m.find(Site, { select: { id: true, name: true } })).map((s) => [s.id, s.name]));
  },
  /** Name and own GlideinWMS group list (the column as stored) of every site. */
  groups: (m: EntityManager): Promise<Pick<SiteRecord, 'id' | 'name' | 'gwmsGroups'>[]> => m.find(Site, { select: { id: true, name: true, gwmsGroups: true } }),
  /** Name and own GlideinWMS group list of the named sites (one query: callers keep the list short). */
  groupsOf: (m: EntityManager, names: string[]): Promise<Pick<SiteRecord, 'name' | 'gwmsGroups'>[]> =>
    m.find(Site, { select: { name: true, gwmsGroups: true }, where: { name: In(names) } }),
  /** Names of the sites with rotation on whose next rotation is due at `now`, soonest first. */
  due: (m: EntityManager, now: number): Promise<Pick<SiteRecord, 'name'>[]> =>
    m.find(Site, { select: { name: true }, where: { rotationEnabled: true, nextRotationAt: LessThanOrEqual(now) }, order: { nextRotationAt: 'ASC' } }),
  /** Sites with rotation on and no next rotation time stored. */
  missingNextRotation: (m: EntityManager): Promise<SiteRecord[]> => m.find(Site, { where: { rotationEnabled: true, nextRotationAt: IsNull() } }),
  async update(m: EntityManager, id: string, changes: Partial<SiteRecord>): Promise<void> {
    await m.update(Site, { id }, changes);
  },
  /** Updates a site only if it is still at `rowVersion`; returns whether it was. */
  async updateIfVersion(m: EntityManager, id: string, rowVersion: number, changes: Partial<SiteRecord>): Promise<boolean> {
    return !!(await m.update(Site, { id, rowVersion }, changes)).affected;
  },

  // --- site keys

  byKid: (m: EntityManager, kid: string): Promise<SiteKeyRecord[]> => m.find(SiteKey, { where: { kid } }),
  keyById: (m: EntityManager, id: string): Promise<SiteKeyRecord | null> => m.findOneBy(SiteKey, { id }),
  /** Active and grace keys of every site (`newestFirst`: by version, descending). */
  liveKeys: (m: EntityManager, newestFirst = false): Promise<SiteKeyRecord[]> =>
    m.find(SiteKey, { where: { state: In(LIVE) }, ...(newestFirst ? { order: { version: 'DESC' as const } } : {}) }),
  /** Active and grace keys of one site, locked FOR UPDATE when `lock`. */
  liveKeysOf: (m: EntityManager, siteId: string, lock = false): Promise<SiteKeyRecord[]> =>
    m.find(SiteKey, { where: { siteId, state: In(LIVE) }, ...forUpdate(m, lock) }),
  /** A site's active key, locked FOR SHARE when `lockShare` (a rotation or deletion waits for the caller's commit). */
  activeKey: (m: EntityManager, siteId: string, lockShare = false): Promise<SiteKeyRecord | null> =>
    m.findOne(SiteKey, { where: { siteId, state: KEY_STATE.active }, ...(lockShare ? rowLock(m, 'share') : {}) }),
  /** Active key id by site id: every site's, or those of `siteIds`. */
  async activeKeyIds(m: EntityManager, siteIds?: string[]): Promise<Map<string, string>> {
    const rows = await m.find(SiteKey, {
      select: { id: true, siteId: true },
      where: siteIds ? { state: KEY_STATE.active, siteId: In(siteIds) } : { state: KEY_STATE.active },
    });
    return new Map(rows.map((k) => [k.siteId, k.id]));
  },
  /** Which of `keyIds` are of versions not yet retired (isLiveState: what forwarding may send), looked up a chunk at a time. */
  async liveKeyIds(m: EntityManager, keyIds: string[]): Promise<Set<string>> {
    const usable = new Set<string>();
    for (const slice of chunks(keyIds)) {
      for (const k of await m.find(SiteKey, { select: { id: true }, where: { id: In(slice), state: In(LIVE) } })) usable.add(k.id);
    }
    return usable;
  },
  /** Grace keys whose grace has ended at `now`. */
  graceEnded: (m: EntityManager, now: number): Promise<SiteKeyRecord[]> =>
    m.find(SiteKey, { where: { state: KEY_STATE.grace, graceUntil: LessThanOrEqual(now) } }),
  async insertKey(m: EntityManager, key: SiteKeyRecord): Promise<void> {
    await m.insert(SiteKey, key);
  },
  /** Changes a key row; with `state`, only while it is still in that state. */
  async updateKey(m: EntityManager, where: { id: string; state?: SiteKeyRecord['state'] }, changes: Partial<SiteKeyRecord>): Promise<void> {
    await m.update(SiteKey, where, changes);
  },
  /** Joins site_keys as `alias` on `on` into another table's query (left join, or inner when `inner`). */
  joinKeys<T extends object>(qb: SelectQueryBuilder<T>, alias: string, on: string, inner = false): SelectQueryBuilder<T> {
    return inner ? qb.innerJoin(SiteKey, alias, on) : qb.leftJoin(SiteKey, alias, on);
  },
};
