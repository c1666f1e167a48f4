import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Clock } from '../common/clock.js';
import { Db } from '../database/db.js';
import { Lease } from './lease.entity.js';

/**
 * A named lease in the database, so that replicas sharing it run a job one at a time. Taken with a
 * conditional update (held by us, or expired), or by creating it; it lapses if its holder dies.
 */
@Injectable()
export class LeaseService {
  readonly holder = randomUUID();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  acquire(name: string, ttlMs: number): Promise<boolean> {
    return this.db.tx(async (m) => {
      const now = this.clock.now();
      const taken = await m
        .createQueryBuilder()
        .update(Lease)
        .set({ holder: this.holder, expiresAt: now + ttlMs })
        .where('name = :name AND (holder = :holder OR expires_at < :now)', { name, holder: this.holder, now })
        .execute();
      if (taken.affected) return true;
      await m.createQueryBuilder().insert().into(Lease).values({ name, holder: this.holder, expiresAt: now + ttlMs }).orIgnore().execute();
      return (await m.findOneBy(Lease, { name }))?.holder === this.holder;
    });
  }

  release(name: string): Promise<void> {
    return this.db.tx(async (m) => {
      await m.delete(Lease, { name, holder: this.holder });
    });
  }
}
