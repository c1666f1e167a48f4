import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Settings } from '../config/settings.js';
import { IntervalJob } from '../jobs/interval-job.js';
import { TicketsService } from './tickets.service.js';

/** Purges expired tickets every scheduler.tickSeconds. */
@Injectable()
export class TicketsCron implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('tickets');
  private readonly job: IntervalJob;

  constructor(
    registry: SchedulerRegistry,
    private readonly tickets: TicketsService,
    private readonly settings: Settings,
  ) {
    this.job = new IntervalJob(registry, 'ticket-purge', this.log);
  }

  onModuleInit(): void {
    this.job.start(this.settings.config.scheduler.tickSeconds, () => this.purge(), 'purging expired tickets failed; the next tick tries again');
  }

  onModuleDestroy(): void {
    this.job.stop();
  }

  private async purge(): Promise<void> {
    const expired = await this.tickets.purgeExpired();
    const n = Object.values(expired).reduce((a, b) => a + b, 0);
    if (n)
      this.log.log(
        `purged ${n} expired unused ticket(s): ${Object.entries(expired)
          .map(([e, k]) => `${e}=${k}`)
          .join(', ')}`,
      );
  }
}
