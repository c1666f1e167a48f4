import { Injectable, OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { Clock } from '../common/clock.js';
import { Db } from '../database/db.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { SiteKey } from '../sites/site-key.entity.js';
import { Site } from '../sites/site.entity.js';

/** Per-site key age and time to the next rotation, read from the database at scrape time. */
@Injectable()
export class RotationMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    const snapshot = () =>
      this.db.read(async (m) => ({
        sites: await m.find(Site, { select: { id: true, name: true, nextRotationAt: true } }),
        keys: await m.find(SiteKey, { select: { siteId: true, createdAt: true }, where: { state: 'active' } }),
      }));
    const clock = this.clock;
    new Gauge({
      name: 'glidekey_site_key_age_seconds',
      help: "Age of each site's active signing key",
      labelNames: ['site'] as const,
      registers: [this.metrics.registry],
      async collect() {
        const { sites, keys } = await snapshot();
        const created = new Map(keys.map((k) => [k.siteId, k.createdAt]));
        this.reset();
        for (const s of sites) {
          const at = created.get(s.id);
          if (at !== undefined) this.set({ site: s.name }, Math.max(0, (clock.now() - at) / 1000));
        }
      },
    });
    new Gauge({
      name: 'glidekey_site_seconds_until_rotation',
      help: "Seconds until each site's next scheduled key rotation (sites with rotation enabled)",
      labelNames: ['site'] as const,
      registers: [this.metrics.registry],
      async collect() {
        const { sites } = await snapshot();
        this.reset();
        for (const s of sites) if (s.nextRotationAt !== null) this.set({ site: s.name }, Math.max(0, (s.nextRotationAt - clock.now()) / 1000));
      },
    });
  }
}
