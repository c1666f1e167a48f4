import { Injectable, Logger } from '@nestjs/common';
// eslint-disable-next-line no-restricted-syntax -- the replica id is made while the module is built (replicaId), or a default for a lease made by hand (tests); not a secret
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-file.js';
import { Clock } from '../common/clock.js';
import { Db } from '../database/db.js';
import { Lease } from './lease.entity.js';

/**
 * A named lease in the database, so that replicas sharing it run a job one at a time. Taken with a
 * conditional update (held by us, or expired), or by creating it; it lapses if its holder dies.
 */
@Injectable()
export class LeaseService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    /** This replica; stable across restarts (see replicaId), so a restarted replica takes its own lease back at once. */
    readonly holder: string = randomUUID(),
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
      await m
        .createQueryBuilder()
        .insert()
        .into(Lease)
        .values({ name, holder: this.holder, expiresAt: now + ttlMs })
        .orIgnore()
        .execute();
      return (await m.findOneBy(Lease, { name }))?.holder === this.holder;
    });
  }

  release(name: string): Promise<void> {
    return this.db.tx(async (m) => {
      await m.delete(Lease, { name, holder: this.holder });
    });
  }
}

/**
 * This replica's id, kept in `<dataDir>/replica-id` (created on first start). Replicas sharing a
 * database each have their own data directory, so their ids differ; a process restarted on the
 * same data directory (after a crash, say) is the same replica and need not wait for its lease to lapse.
 *
 * Written atomically (temp file, fsync, rename), so a crash leaves either no file or a whole id.
 * An empty file (what the earlier, non-atomic write left after a crash or a disk error) is taken
 * as no file, with a warning: the only cost of a new id is waiting once for the old lease to lapse.
 * Any other content is refused: something other than glidekey wrote it, and guessing could make
 * two replicas share an id.
 */
export function replicaId(dataDir: string): string {
  const file = join(dataDir, 'replica-id');
  const held = existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
  if (held === '') new Logger('scheduler').warn(`${file} is empty (left by a crash while it was written): making a new replica id`);
  if (!held) writeFileAtomic(file, `${randomUUID()}\n`, 0o600);
  const id = readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id))
    throw new Error(`${file} does not hold a replica id; delete it to make a new one`);
  return id;
}
