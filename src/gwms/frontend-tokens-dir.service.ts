import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { Settings } from '../config/settings.js';
import { Db } from '../database/db.js';
import { DATABASE_ID } from '../database/identity.js';
import { metaStore } from '../database/meta.store.js';
import { EventBus } from '../events/event-bus.js';
import { RenewalService } from '../current-token/renewal.service.js';
import { FrontendFiles } from './frontend-files.js';
import { GwmsMetrics } from './gwms.metrics.js';

/**
 * Keeps gwms.frontend.tokensDir (the frontend user's `~/tokens.d`) holding, for every site and
 * each of its GlideinWMS groups, `<group>.<site>.idtoken`: the site's current token exactly as the
 * frontend's refresh_entry_token writes one (the token, no newline, 0600, temp file + rename).
 * The frontend uses such a file as is while its mtime is at most an hour old, and without a key
 * in passwords.d reads it whatever its age; so each file is rewritten when the current token
 * changes and its mtime renewed every gwms.frontend.refreshSeconds while the token is usable, and
 * it goes when the site goes, leaves the group list, or has no usable token (revoked, withdrawn).
 * A file of such a name that glidekey did not write (the frontend's own) is taken over; every
 * other file there is never touched.
 */
@Injectable()
export class FrontendTokensDir extends FrontendFiles implements OnModuleInit {
  constructor(
    private readonly db: Db,
    private readonly renewal: RenewalService,
    private readonly events: EventBus,
    clock: Clock,
    settings: Settings,
    metrics: GwmsMetrics,
  ) {
    super('idtoken', new Logger('tokens.d'), settings.config.gwms.frontend.tokensDir, 'gwms-tokens-dir.json', clock, settings, metrics);
  }

  async onModuleInit(): Promise<void> {
    this.databaseId = (await this.db.read((m) => metaStore.get(m, DATABASE_ID)))?.value;
    if (!this.enabled) return;
    const follow = async () => void (await this.sync('change'));
    // After the renewer (a rotation or revocation replaces the current token first, then publishes its own change).
    for (const kind of ['current-token.changed', 'site.updated', 'site.deleted', 'revocations.changed', 'keys.changed'] as const) this.events.on(kind, follow);
  }

  protected async desired() {
    const fallback = this.settings.config.gwms.frontend.groups;
    const sites = await this.renewal.usableCurrentTokens();
    const files = new Map<string, Buffer>();
    for (const s of sites) {
      if (s.token === null) continue;
      const groups = s.gwmsGroups === null ? fallback : s.gwmsGroups.split(',').filter(Boolean);
      // GlideinWMS writes the token with no newline and reads the file whole: the same bytes.
      for (const g of groups) files.set(`${g}.${s.site}.idtoken`, Buffer.from(s.token));
    }
    // Every name here is one glidekey keeps by configuration: the frontend's own file of that name is replaced.
    return { files, mayClaim: () => true, databaseEmpty: sites.length === 0 };
  }
}
