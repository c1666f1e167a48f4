import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Settings } from '../config/settings.js';
import { PasswordsDirService } from '../passwords-dir/passwords-dir.service.js';
import { RenewalService } from '../current-token/renewal.service.js';
import { RotationService } from '../rotation/rotation.service.js';
import { RevocationFileService } from '../tokens/revocation-file.service.js';
import { LeaseService } from '../jobs/lease.service.js';
import { SciTokensService } from '../scitokens/scitokens.service.js';
import { SciTokenWatch } from '../scitokens/scitoken-watch.service.js';
import { FrontendTokensDir } from '../gwms/frontend-tokens-dir.service.js';
import { FrontendSciTokensDir } from '../gwms/frontend-scitokens-dir.service.js';

export interface TickReport {
  ran: boolean;
  retired: number;
  rotated: string[];
  renewed: string[];
  /** SciTokens that newly became expiring, expired or invalid. */
  alarms: string[];
}

/**
 * The periodic work of the frontend, in order: retire keys whose grace ended, rotate due sites,
 * renew current tokens, refresh SciTokens from their files, then bring passwords.d, the
 * revocation file and the GlideinWMS frontend's files in line and warn about SciTokens that became expiring, expired or invalid. One replica at a
 * time holds the lease; the files are local, so every replica keeps its own in line.
 */
@Injectable()
export class SchedulerService implements OnApplicationBootstrap {
  private readonly log = new Logger('scheduler');
  private running = false;

  constructor(
    private readonly lease: LeaseService,
    private readonly rotation: RotationService,
    private readonly renewal: RenewalService,
    private readonly passwords: PasswordsDirService,
    private readonly revocationFile: RevocationFileService,
    private readonly settings: Settings,
    private readonly scitokens: SciTokensService,
    private readonly watch: SciTokenWatch,
    private readonly gwmsTokens: FrontendTokensDir,
    private readonly gwmsSciTokens: FrontendSciTokensDir,
  ) {}

  /** Start-up reconciliation: repair drift in the files glidekey keeps, and say what was fixed. */
  async onApplicationBootstrap(): Promise<void> {
    const backfilled = await this.rotation.backfillNextRotation();
    if (backfilled.length) this.log.warn(`scheduled rotation for site(s) that had no next rotation time: ${backfilled.join(', ')}`);
    await this.passwords.sync('startup');
    await this.revocationFile.write();
    await this.gwmsTokens.sync('startup');
    await this.gwmsSciTokens.sync('startup');
  }

  /** One pass; a pass still running makes the next call a no-op. */
  async tick(): Promise<TickReport> {
    const report: TickReport = { ran: false, retired: 0, rotated: [], renewed: [], alarms: [] };
    if (this.running) return report;
    this.running = true;
    try {
      const ttl = Math.max(3 * this.settings.config.scheduler.tickSeconds * 1000, 30_000);
      if (await this.lease.acquire('frontend-scheduler', ttl)) {
        report.ran = true;
        report.retired = await this.rotation.retireExpiredGrace();
        report.rotated = (await this.rotation.rotateDue()).map((r) => `${r.site}@v${r.toVersion}`);
        report.renewed = await this.renewal.renewDue();
        await this.scitokens.refreshAll();
        if (report.rotated.length) this.log.log(`rotated ${report.rotated.join(', ')}`);
      }
    } catch (err) {
      this.log.error({ err }, 'scheduler pass failed; the next tick tries again');
    }
    // This replica's files are kept in line whatever happened above.
    try {
      await this.passwords.sync('tick');
      await this.revocationFile.write();
      report.alarms = await this.watch.check();
    } catch (err) {
      this.log.error({ err }, 'keeping passwords.d, the revocation file or SciToken states in line failed; the next tick tries again');
    }
    // The GlideinWMS frontend's files, each apart: one directory's trouble never stalls the other.
    for (const files of [this.gwmsTokens, this.gwmsSciTokens]) {
      await files
        .sync('tick')
        .catch((err: unknown) => this.log.error({ err }, 'keeping the GlideinWMS frontend files in line failed; the next tick tries again'));
    }
    this.running = false;
    return report;
  }
}
