import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';

/** Deletes what a capability keeps for `frontend` (in the caller's transaction); returns counts for the audit line. */
export type FrontendForgetter = (m: EntityManager, frontend: string) => Promise<Record<string, number>>;

/**
 * What else goes when a registered frontend is forgotten: the capabilities built on the factory
 * (tickets, glidein renewals) register their part here at start-up, so the factory deletes their
 * rows in its own transaction without depending on them. Run in `order`, lowest first.
 */
@Injectable()
export class FrontendForgetters {
  private readonly list: { order: number; forget: FrontendForgetter }[] = [];

  register(order: number, forget: FrontendForgetter): void {
    this.list.push({ order, forget });
    this.list.sort((a, b) => a.order - b.order);
  }

  /** Runs every registered forgetter in the caller's transaction; their counts, merged. */
  async forget(m: EntityManager, frontend: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const f of this.list) Object.assign(out, await f.forget(m, frontend));
    return out;
  }
}

/** The order of the forgetters registered today: a frontend's tickets, then its glideins' renewal credentials. */
export const FORGET_ORDER = { tickets: 10, renewals: 20 } as const;
