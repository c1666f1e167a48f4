import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';

/** A site as the hooks see it. */
export interface SiteRef {
  id: string;
  name: string;
}

/** The metadata of a site's current token, for its view. */
export interface CurrentTokenFacts {
  jti: string;
  issuedAt: number;
  expiresAt: number;
}

/**
 * What the capabilities built on sites/ add to it, registered by them at start-up: sites/ calls
 * these in its own reads and transactions without depending on tokens/, rotation/ or forwarding/.
 *  - tokenCounts (tokens/): unrevoked, unexpired tokens of a non-retired key, by site id;
 *  - currentToken (rotation/): a site's current token, for its view;
 *  - deleting (rotation/): in the deleting transaction, before the site row goes;
 *  - deleted (forwarding/): in the same transaction, after it went; returns counts for the audit line.
 * Unregistered (a role or test without that capability): no tokens, no current token, nothing to do.
 */
@Injectable()
export class SiteHooks {
  tokenCounts: (m: EntityManager, now: number, siteId?: string) => Promise<Map<string, number>> = async () => new Map();
  currentToken: (m: EntityManager, siteId: string) => Promise<CurrentTokenFacts | null> = async () => null;
  private readonly deleting: ((m: EntityManager, site: SiteRef) => Promise<void>)[] = [];
  private readonly deleted: ((m: EntityManager, site: SiteRef) => Promise<Record<string, number>>)[] = [];

  onDeleting(fn: (m: EntityManager, site: SiteRef) => Promise<void>): void {
    this.deleting.push(fn);
  }

  onDeleted(fn: (m: EntityManager, site: SiteRef) => Promise<Record<string, number>>): void {
    this.deleted.push(fn);
  }

  async runDeleting(m: EntityManager, site: SiteRef): Promise<void> {
    for (const fn of this.deleting) await fn(m, site);
  }

  async runDeleted(m: EntityManager, site: SiteRef): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const fn of this.deleted) Object.assign(out, await fn(m, site));
    return out;
  }
}
