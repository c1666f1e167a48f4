import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { hashSecret, sameHash } from '../auth/api-key.secret.js';
import { parseTicket, TICKET_REFUSED } from '../auth/ticket.secret.js';
import { Clock } from '../common/clock.js';
import { DomainError, RetryLaterError } from '../common/errors.js';
import { Settings } from '../config/settings.js';
import { Db } from '../database/db.js';
import { CacheService, OpenedCredential } from '../factory/cache.service.js';
import { FactoryEntry } from '../factory/entry.entity.js';
import { Ticket } from '../tickets/ticket.entity.js';
import { TicketsMetrics } from '../tickets/tickets.metrics.js';
import { FailureLimiter } from './failure-limiter.js';

export interface GlideinCredentials {
  site: string;
  entry: string;
  idtoken: string;
  /** When the IDTOKEN expires. */
  expiresAt: string;
  scitoken?: string;
  scitokenExpiresAt?: string;
}

/** A hash that matches no secret, compared when the ticket id is unknown so both paths take the same time. */
const DUMMY_HASH = hashSecret('no such ticket');
/** A ticket whose entry's cache stays stale is audited once per this, however often its glidein retries. */
const STALE_AUDIT_EVERY_MS = 10 * 60_000;
/** What a glidein is told to wait before retrying a stale cache. */
const STALE_RETRY_SECONDS = 60;
/** Refused tickets are logged at most once per this, as a count. */
const WARN_EVERY_MS = 60_000;

/**
 * The glidein's bootstrap fetch: a valid ticket buys its entry's current credentials, once.
 * Every bad ticket gets the same refusal; only failures count towards the per-address limit.
 */
@Injectable()
export class GlideinService {
  private readonly log = new Logger('glidein');
  private refusedSinceWarn = 0;
  private lastWarn = -Infinity;

  constructor(
    private readonly db: Db,
    private readonly cache: CacheService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly settings: Settings,
    private readonly limiter: FailureLimiter,
    private readonly metrics: TicketsMetrics,
  ) {}

  /**
   * Asked before anything else is done for a fetch (LimitedAddressHook): the refusal for an address
   * over the failure limit and out of its lookup allowance (see FailureLimiter), counted and logged.
   */
  refusalBeforeLookup(address: string): RetryLaterError | undefined {
    const wait = this.limiter.admit(address);
    if (!wait) return undefined;
    this.report(address, true);
    return limitedError(wait);
  }

  async fetch(bearer: string, address: string): Promise<GlideinCredentials> {
    const parsed = parseTicket(bearer);
    const { ticket, entry } = parsed
      ? await this.db.read(async (m) => {
          const ticket = await m.findOneBy(Ticket, { id: parsed.id });
          return { ticket, entry: ticket ? await m.findOneBy(FactoryEntry, { name: ticket.entry }) : null };
        })
      : { ticket: null, entry: null };
    const matches = sameHash(hashSecret(parsed?.secret ?? ''), ticket?.secretHash ?? DUMMY_HASH);
    if (!parsed || !ticket || !matches || ticket.consumedAt !== null || ticket.expiresAt <= this.clock.now()) return this.refuse(address);
    // An entry deleted after its tickets were issued leaves them worthless.
    if (!entry) return this.refuse(address);

    const creds = await this.cache.current(ticket.frontend, ticket.entry);
    const idtoken = this.fresh(creds.idtoken);
    const scitoken = entry.glideinScitoken ? this.fresh(creds.scitoken) : undefined;
    if (!idtoken || (entry.glideinScitoken && !scitoken)) return this.stale(ticket, !idtoken ? 'idtoken' : 'scitoken');

    const consumed = await this.db.tx(async (m) => {
      const now = this.clock.now();
      const r = await m
        .createQueryBuilder()
        .update(Ticket)
        .set({ consumedAt: now, consumedBy: address })
        .where('id = :id AND consumed_at IS NULL AND expires_at > :now', { id: ticket.id, now })
        .execute();
      if (!r.affected) return false;
      await this.audit.record(m, {
        action: 'ticket.consume',
        target: `entry:${ticket.entry}`,
        actor: `ticket:${ticket.id}`,
        detail: { ticket: ticket.id, batch: ticket.batchId, frontend: ticket.frontend, site: entry.site, address, idtokenVersion: idtoken.version },
      });
      return true;
    });
    // Lost the race to a concurrent fetch with the same ticket (or it expired just now).
    if (!consumed) return this.refuse(address);
    this.metrics.consumed.inc({ entry: ticket.entry });
    return {
      site: entry.site,
      entry: entry.name,
      idtoken: idtoken.value,
      expiresAt: new Date(idtoken.expiresAt).toISOString(),
      ...(scitoken ? { scitoken: scitoken.value, scitokenExpiresAt: new Date(scitoken.expiresAt).toISOString() } : {}),
    };
  }

  /** The credential when it has at least tickets.minTokenLifetimeSeconds left. */
  private fresh(c: OpenedCredential | undefined): OpenedCredential | undefined {
    return c && c.expiresAt - this.clock.now() >= this.settings.config.tickets.minTokenLifetimeSeconds * 1000 ? c : undefined;
  }

  /** 503, ticket kept: the glidein retries until its frontend's next forward lands. */
  private async stale(ticket: Ticket, what: 'idtoken' | 'scitoken'): Promise<never> {
    this.metrics.refuse('stale', ticket.entry);
    await this.db.tx(async (m) => {
      const now = this.clock.now();
      const r = await m
        .createQueryBuilder()
        .update(Ticket)
        .set({ staleAuditedAt: now })
        .where('id = :id AND (stale_audited_at IS NULL OR stale_audited_at <= :before)', { id: ticket.id, before: now - STALE_AUDIT_EVERY_MS })
        .execute();
      if (r.affected) {
        await this.audit.record(m, { action: 'ticket.refuse', target: `entry:${ticket.entry}`, actor: `ticket:${ticket.id}`, result: 'failure', code: 'CREDENTIAL_STALE', detail: { ticket: ticket.id, missing: what } });
      }
    });
    throw new RetryLaterError('CREDENTIAL_STALE', `the factory has no ${what} with enough lifetime left for this entry yet; the ticket is still valid, retry later`, STALE_RETRY_SECONDS);
  }

  /**
   * The one refusal for every bad ticket. Not audited (the append-only log must not be floodable by
   * anyone who can reach the port): counted in metrics and summarised in the log once a minute.
   */
  private refuse(address: string): never {
    const wait = this.limiter.fail(address);
    this.report(address, wait > 0);
    if (wait) throw limitedError(wait);
    throw new DomainError('TICKET_INVALID', TICKET_REFUSED);
  }

  private report(address: string, limited: boolean): void {
    this.metrics.refuse(limited ? 'rate_limited' : 'invalid');
    this.refusedSinceWarn++;
    const now = this.clock.now();
    if (now - this.lastWarn >= WARN_EVERY_MS || now < this.lastWarn) {
      this.log.warn(`refused ${this.refusedSinceWarn} glidein credential fetch(es) with a bad ticket since the last report (latest from ${address}${limited ? ', now rate-limited' : ''})`);
      this.refusedSinceWarn = 0;
      this.lastWarn = now;
    }
  }
}

const limitedError = (wait: number) => new RetryLaterError('RATE_LIMITED', 'too many failed ticket attempts from this address; retry later', wait);
