import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Settings } from '../config/settings.js';
import { IntervalJob } from '../jobs/interval-job.js';
import { RenewalAdminService } from './renewal-admin.service.js';

/** Purges renewals whose pilot life is over, every scheduler.tickSeconds. */
@Injectable()
export class RenewalCron implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('renewal');
  private readonly job: IntervalJob;

  constructor(
    registry: SchedulerRegistry,
    private readonly renewals: RenewalAdminService,
    private readonly settings: Settings,
  ) {
    this.job = new IntervalJob(registry, 'renewal-purge', this.log);
  }

  onModuleInit(): void {
    this.job.start(this.settings.config.scheduler.tickSeconds, () => this.purge(), 'purging ended glidein renewals failed; the next tick tries again');
  }

  onModuleDestroy(): void {
    this.job.stop();
  }

  private async purge(): Promise<void> {
    const n = await this.renewals.purgeEnded();
    if (n) this.log.log(`purged ${n} glidein renewal(s) past their pilot life`);
  }
}
