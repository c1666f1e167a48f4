import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Settings } from '../config/settings.js';
import { TicketsService } from './tickets.service.js';

const JOB = 'ticket-purge';

/** Purges expired tickets every scheduler.tickSeconds; a pass still running makes the next one a no-op. */
@Injectable()
export class TicketsCron implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('tickets');
  private running = false;

  constructor(
    private readonly registry: SchedulerRegistry,
    private readonly tickets: TicketsService,
    private readonly settings: Settings,
  ) {}

  onModuleInit(): void {
    this.registry.addInterval(JOB, setInterval(() => void this.purge(), this.settings.config.scheduler.tickSeconds * 1000));
  }

  onModuleDestroy(): void {
    if (this.registry.doesExist('interval', JOB)) this.registry.deleteInterval(JOB);
  }

  async purge(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const expired = await this.tickets.purgeExpired();
      const n = Object.values(expired).reduce((a, b) => a + b, 0);
      if (n) this.log.log(`purged ${n} expired unused ticket(s): ${Object.entries(expired).map(([e, k]) => `${e}=${k}`).join(', ')}`);
    } catch (err) {
      this.log.error({ err }, 'purging expired tickets failed; the next tick tries again');
    } finally {
      this.running = false;
    }
  }
}
