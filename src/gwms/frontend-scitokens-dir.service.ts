import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { Settings } from '../config/settings.js';
import { Db } from '../database/db.js';
import { DATABASE_ID } from '../database/identity.js';
import { metaStore } from '../database/meta.store.js';
import { EventBus } from '../events/event-bus.js';
import { SciTokensService } from '../scitokens/scitokens.service.js';
import { FrontendFiles } from './frontend-files.js';
import { GwmsMetrics } from './gwms.metrics.js';

/**
 * Keeps gwms.frontend.scitokensDir holding `<name>.scitoken` for every stored SciToken that is
 * usable now (valid or expiring), for frontend.xml `<credential absfname=...>`: the token alone,
 * with no trailing newline (the frontend strips whitespace, so either form works there; without
 * one, a reader that does not strip still gets a usable bearer token), 0600, atomically. It is
 * rewritten when the token changes and removed once it is revoked, deleted, expired or invalid
 * (the scheduler tick notices the last two). A file there that glidekey did not write is never
 * touched, even under the name of a stored token.
 */
@Injectable()
export class FrontendSciTokensDir extends FrontendFiles implements OnModuleInit {
  constructor(
    private readonly db: Db,
    private readonly scitokens: SciTokensService,
    private readonly events: EventBus,
    clock: Clock,
    settings: Settings,
    metrics: GwmsMetrics,
  ) {
    super('scitoken', new Logger('scitokens-dir'), settings.config.gwms.frontend.scitokensDir, 'gwms-scitokens-dir.json', clock, settings, metrics);
  }

  async onModuleInit(): Promise<void> {
    this.databaseId = (await this.db.read((m) => metaStore.get(m, DATABASE_ID)))?.value;
    if (this.enabled) this.events.on('scitoken.changed', async () => void (await this.sync('change')));
  }

  protected async desired() {
    const { stored, tokens } = await this.scitokens.usableTokens();
    const files = new Map(tokens.map((t) => [`${t.name}.scitoken`, Buffer.from(t.token)] as const));
    return { files, mayClaim: () => false, databaseEmpty: stored === 0 };
  }
}
