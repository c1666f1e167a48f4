import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Settings } from '../config/settings.js';
import { SchedulerService } from './scheduler.service.js';

const JOB = 'frontend-tick';

/** Runs SchedulerService.tick every scheduler.tickSeconds; the handler never overlaps itself (tick guards). */
@Injectable()
export class SchedulerCron implements OnModuleInit, OnModuleDestroy {
  constructor(
    private readonly registry: SchedulerRegistry,
    private readonly scheduler: SchedulerService,
    private readonly settings: Settings,
  ) {}

  onModuleInit(): void {
    const handle = setInterval(() => void this.scheduler.tick(), this.settings.config.scheduler.tickSeconds * 1000);
    this.registry.addInterval(JOB, handle);
  }

  onModuleDestroy(): void {
    if (this.registry.doesExist('interval', JOB)) this.registry.deleteInterval(JOB);
  }
}
