import { Injectable, OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { Clock } from '../common/clock.js';
import { Db } from '../database/db.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { KEY_STATE } from '../sites/key-usability.js';

/**
 * Per-site key age and time to the next rotation, by one join (no entity loading), at most once
 * per metrics.cacheSeconds. One series per site is kept: sites are created by a frontend admin, one
 * per collector site, so their number is the admin's, and a key's age is needed site by site.
 */
@Injectable()
export class RotationMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    const snapshot = this.metrics.cached(async () => {
      const rows: { name: string; next: string | number | null; created: string | number | null }[] = await this.db.read((m) =>
        m.query(
          `SELECT s.name AS name, s.next_rotation_at AS next, k.created_at AS created FROM sites s LEFT JOIN site_keys k ON k.site_id = s.id AND k.state = '${KEY_STATE.active}'`,
        ),
      );
      return rows.map((r) => ({
        name: r.name,
        nextRotationAt: r.next === null ? null : Number(r.next),
        createdAt: r.created === null ? null : Number(r.created),
      }));
    });
    const clock = this.clock;
    new Gauge({
      name: 'glidekey_site_key_age_seconds',
      help: "Age of each site's active signing key",
      labelNames: ['site'] as const,
      registers: [this.metrics.registry],
      async collect() {
        const sites = await snapshot();
        this.reset();
        for (const s of sites) if (s.createdAt !== null) this.set({ site: s.name }, Math.max(0, (clock.now() - s.createdAt) / 1000));
      },
    });
    new Gauge({
      name: 'glidekey_site_seconds_until_rotation',
      help: "Seconds until each site's next scheduled key rotation (sites with rotation enabled)",
      labelNames: ['site'] as const,
      registers: [this.metrics.registry],
      async collect() {
        const sites = await snapshot();
        this.reset();
        for (const s of sites) if (s.nextRotationAt !== null) this.set({ site: s.name }, Math.max(0, (s.nextRotationAt - clock.now()) / 1000));
      },
    });
  }
}
