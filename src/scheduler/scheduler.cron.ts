import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Settings } from '../config/settings.js';
import { IntervalJob } from '../jobs/interval-job.js';
import { SchedulerService } from './scheduler.service.js';

/** Runs SchedulerService.tick every scheduler.tickSeconds; the handler never overlaps itself (tick guards). */
@Injectable()
export class SchedulerCron implements OnModuleInit, OnModuleDestroy {
  private readonly job: IntervalJob;

  constructor(
    registry: SchedulerRegistry,
    private readonly scheduler: SchedulerService,
    private readonly settings: Settings,
  ) {
    this.job = new IntervalJob(registry, 'frontend-tick', new Logger('scheduler'));
  }

  onModuleInit(): void {
    // tick logs its own failures; IntervalJob's line is for anything that escapes it.
    this.job.start(
      this.settings.config.scheduler.tickSeconds,
      async () => void (await this.scheduler.tick()),
      'scheduler pass failed; the next tick tries again',
    );
  }

  onModuleDestroy(): void {
    this.job.stop();
  }
}
