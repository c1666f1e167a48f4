import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Gauge } from 'prom-client';
import { Settings } from '../config/settings.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { LeaseService } from '../scheduler/lease.service.js';
import { DeliveriesService } from './deliveries.service.js';
import { DelivererService } from './deliverer.service.js';
import { DELIVERY_STATES } from './delivery.entity.js';
import { EntriesSyncService } from './entries-sync.service.js';

const JOB = 'forwarding-tick';

/**
 * Every scheduler.tickSeconds: read the factories' entries (queuing what they lack), then send
 * what is due. The replica holding the forwarding lease does it; a pass never overlaps itself.
 * The deliverer also wakes on its own when rows are queued and when a retry falls due.
 */
@Injectable()
export class ForwardingCron implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('forwarding');
  private running = false;

  constructor(
    private readonly registry: SchedulerRegistry,
    private readonly settings: Settings,
    private readonly lease: LeaseService,
    private readonly sync: EntriesSyncService,
    private readonly deliverer: DelivererService,
    private readonly deliveries: DeliveriesService,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    const handle = setInterval(() => void this.tick(), this.settings.config.scheduler.tickSeconds * 1000);
    this.registry.addInterval(JOB, handle);
    const counts = () => this.deliveries.counts();
    new Gauge({
      name: 'glidekey_deliveries',
      help: 'Outbox rows by state (pending, delivered, superseded, dropped, refused)',
      labelNames: ['state'] as const,
      registers: [this.metrics.registry],
      async collect() {
        const n = await counts();
        for (const s of DELIVERY_STATES) this.set({ state: s }, n[s] ?? 0);
      },
    });
  }

  /** Rows left pending by a stop or a crash go out straight away, not a tick later. */
  onApplicationBootstrap(): void {
    this.deliverer.wake(200);
  }

  onModuleDestroy(): void {
    if (this.registry.doesExist('interval', JOB)) this.registry.deleteInterval(JOB);
  }

  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const ttl = Math.max(3 * this.settings.config.scheduler.tickSeconds * 1000, 30_000);
      if (await this.lease.acquire('forwarding', ttl)) await this.sync.syncAll();
      await this.deliverer.drain();
    } catch (err) {
      this.log.error({ err }, 'forwarding pass failed; the next tick tries again');
    } finally {
      this.running = false;
    }
  }
}
