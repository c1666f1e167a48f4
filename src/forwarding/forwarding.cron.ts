import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Settings } from '../config/settings.js';
import { IntervalJob } from '../jobs/interval-job.js';
import { LeaseService } from '../jobs/lease.service.js';
import { DelivererService } from './deliverer.service.js';
import { EntriesSyncService } from './entries-sync.service.js';
import { IdentityTransitionService } from './identity-transition.service.js';

/**
 * Every scheduler.tickSeconds: read the factories' entries (queuing what they lack), end an
 * identity transition that may end, then send what is due. The replica holding the forwarding lease does it; a pass never overlaps itself.
 * The deliverer also wakes on its own when rows are queued and when a retry falls due.
 */
@Injectable()
export class ForwardingCron implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly job: IntervalJob;

  constructor(
    registry: SchedulerRegistry,
    private readonly settings: Settings,
    private readonly lease: LeaseService,
    private readonly sync: EntriesSyncService,
    private readonly deliverer: DelivererService,
    private readonly transition: IdentityTransitionService,
  ) {
    this.job = new IntervalJob(registry, 'forwarding-tick', new Logger('forwarding'));
  }

  onModuleInit(): void {
    this.job.start(this.settings.config.scheduler.tickSeconds, () => this.tick(), 'forwarding pass failed; the next tick tries again');
  }

  /** Rows left pending by a stop or a crash go out straight away, not a tick later. */
  onApplicationBootstrap(): void {
    this.deliverer.wake(200);
  }

  onModuleDestroy(): void {
    this.job.stop();
  }

  private async tick(): Promise<void> {
    const ttl = Math.max(3 * this.settings.config.scheduler.tickSeconds * 1000, 30_000);
    if (await this.lease.acquire('forwarding', ttl)) {
      await this.sync.syncAll();
      await this.transition.settle();
    }
    await this.deliverer.drain();
  }
}
