import { Db } from '../database/db.js';
import { sitesStore } from '../sites/sites.store.js';
import { siteGwmsGroups } from '../sites/site.response.js';
import type { Delivery } from './delivery.entity.js';
import { chunks } from '../database/sql.js';

/**
 * The GlideinWMS frontend groups each credential of a send serves, for its envelope item (the
 * factory files it as `credential_<frontend>.<group>_<entry>`): a site's own `gwmsGroups` for the
 * site's IDTOKEN, else `gwms.frontend.groups` (also for a site whose list is empty: it keeps no
 * tokens.d file, but its token still serves the frontend's groups at the factory). Undefined for
 * `main` alone, which is what an item without groups means: left out, the body is what factories
 * from before groups take.
 */
export async function servedGroups(db: Db, rows: Delivery[], defaults: readonly string[]): Promise<(d: Delivery) => string[] | undefined> {
  const sites = [...new Set(rows.filter((d) => d.kind === 'credential' && d.type === 'idtoken').map((d) => d.source))];
  const own = new Map<string, string[]>();
  for (const slice of chunks(sites)) {
    const found = await db.read((m) => sitesStore.groupsOf(m, slice));
    for (const s of found) {
      const groups = siteGwmsGroups(s);
      if (groups?.length) own.set(s.name, groups);
    }
  }
  const wire = (groups: readonly string[]) => (groups.length === 1 && groups[0] === 'main' ? undefined : [...groups]);
  return (d) => wire((d.type === 'idtoken' ? own.get(d.source) : undefined) ?? defaults);
}
