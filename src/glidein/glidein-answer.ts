import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { isRepresentableMs } from '../common/time.js';
import { Settings } from '../config/settings.js';
import { CacheService, OpenedCredential } from '../factory/cache.service.js';
import type { EntryPolicy } from '../factory/factory.store.js';

/** What a glidein is told to wait before retrying a stale cache (bootstrap and renewal alike). */
export const STALE_RETRY_SECONDS = 60;

export interface GlideinCredentials {
  site: string;
  entry: string;
  idtoken: string;
  /** When the IDTOKEN expires. */
  expiresAt: string;
  scitoken?: string;
  scitokenExpiresAt?: string;
  /** The next renewal credential: shown in this answer only. */
  renewal?: string;
  /** The end of the pilot's life: no renewal after it. */
  renewalExpiresAt?: string;
  /** When to renew, in seconds from now: two thirds of the way to the soonest expiry handed out. */
  renewInSeconds?: number;
}

export type { EntryPolicy };

export type Built =
  | { ok: true; answer: GlideinCredentials; idtokenVersion: number }
  /** `absent`: not in the cache at all (never sent, withdrawn or deleted); else there but too short-lived. */
  | { ok: false; missing: 'idtoken' | 'scitoken'; absent: boolean };

/** The credentials a glidein gets from the factory cache: the same for the bootstrap fetch and for a renewal. */
@Injectable()
export class GlideinAnswers {
  constructor(
    private readonly cache: CacheService,
    private readonly clock: Clock,
    private readonly settings: Settings,
  ) {}

  /** One frontend's current credentials for one entry, each with at least tickets.minTokenLifetimeSeconds left. */
  async build(frontend: string, entry: EntryPolicy): Promise<Built> {
    const creds = await this.cache.current(frontend, entry.name);
    const idtoken = this.fresh(creds.idtoken);
    const scitoken = entry.glideinScitoken ? this.fresh(creds.scitoken) : undefined;
    if (!idtoken) return { ok: false, missing: 'idtoken', absent: !creds.idtoken };
    if (entry.glideinScitoken && !scitoken) return { ok: false, missing: 'scitoken', absent: !creds.scitoken };
    const soonest = Math.min(idtoken.expiresAt, scitoken?.expiresAt ?? Infinity);
    const answer: GlideinCredentials = {
      site: entry.site,
      entry: entry.name,
      idtoken: idtoken.value,
      expiresAt: new Date(idtoken.expiresAt).toISOString(),
      ...(scitoken ? { scitoken: scitoken.value, scitokenExpiresAt: new Date(scitoken.expiresAt).toISOString() } : {}),
      renewInSeconds: Math.max(1, Math.floor(((soonest - this.clock.now()) * 2) / 3 / 1000)),
    };
    return { ok: true, answer, idtokenVersion: idtoken.version };
  }

  /** Whether the frontend withdrew this entry's credential of this type (the factory keeps its tombstone). */
  async withdrawn(frontend: string, entry: string, type: 'idtoken' | 'scitoken'): Promise<boolean> {
    return (await this.cache.withdrawn(frontend, entry)).has(type);
  }

  /**
   * The credential when it has at least tickets.minTokenLifetimeSeconds left. An expiry no Date can
   * hold (a row cached before envelopes bounded it) makes it unusable, like a stale one.
   */
  private fresh(c: OpenedCredential | undefined): OpenedCredential | undefined {
    if (!c || !isRepresentableMs(c.expiresAt)) return undefined;
    return c.expiresAt - this.clock.now() >= this.settings.config.tickets.minTokenLifetimeSeconds * 1000 ? c : undefined;
  }
}
