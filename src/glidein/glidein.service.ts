import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { hashSecret, sameHash } from '../auth/api-key.secret.js';
import { parseTicket, TICKET_REFUSED } from '../auth/ticket.secret.js';
import { Clock } from '../common/clock.js';
import { DomainError, RetryLaterError } from '../common/errors.js';
import { Db } from '../database/db.js';
import { TicketRecord, ticketsStore } from '../tickets/tickets.store.js';
import { TicketsMetrics } from '../tickets/tickets.metrics.js';
import { FailureLimiter } from './failure-limiter.js';
import { RefusalReporter } from './refusal-reporter.js';
import { EntryPolicy, GlideinAnswers, GlideinCredentials, STALE_RETRY_SECONDS } from './glidein-answer.js';
import { GlideinMetrics } from './glidein.metrics.js';
import { RenewalService } from './renewal.service.js';
import { SpendWriter } from './spend-writer.js';
import { JWT_SHAPE, TokenBootstrap } from './token-bootstrap.service.js';
import { query, sql } from '../database/sql.js';

export type { GlideinCredentials } from './glidein-answer.js';

/** A hash that matches no secret, compared when the ticket id is unknown so both paths take the same time. */
const DUMMY_HASH = hashSecret('no such ticket');
/** An id no ticket has (ids are 16 hex digits), looked up for a malformed bearer. */
const NO_SUCH_ID = 'not-a-ticket-id!';

interface RawTicket {
  id: string | null;
  secret_hash: string | null;
  batch_id: string;
  frontend: string;
  entry: string;
  created_at: string | number;
  expires_at: string | number;
  consumed_at: string | number | null;
  consumed_by: string | null;
  stale_audited_at: string | number | null;
  e_name: string | null;
  e_site: string | null;
  e_glidein_scitoken: boolean | number | string | null;
  e_max_pilot_life_seconds: string | number | null;
}

/** Mapped in place of a missing row, so both outcomes do the same work. */
const NO_SUCH_ROW: RawTicket = {
  id: NO_SUCH_ID,
  secret_hash: DUMMY_HASH,
  batch_id: '',
  frontend: '',
  entry: '',
  created_at: 0,
  expires_at: 0,
  consumed_at: null,
  consumed_by: null,
  stale_audited_at: null,
  e_name: null,
  e_site: null,
  e_glidein_scitoken: null,
  e_max_pilot_life_seconds: null,
};

/** A ticket whose entry's cache stays stale is audited once per this, however often its glidein retries. */
const STALE_AUDIT_EVERY_MS = 10 * 60_000;

/**
 * The glidein's bootstrap fetch: a valid ticket buys its entry's current credentials, once.
 * Every bad ticket gets the same refusal; only failures count towards the per-address limit.
 */
@Injectable()
export class GlideinService {
  private readonly refusals: RefusalReporter;

  constructor(
    private readonly db: Db,
    private readonly answers: GlideinAnswers,
    private readonly renewals: RenewalService,
    private readonly renewalMetrics: GlideinMetrics,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly limiter: FailureLimiter,
    private readonly metrics: TicketsMetrics,
    private readonly tokens: TokenBootstrap,
    private readonly writer: SpendWriter,
  ) {
    this.refusals = new RefusalReporter(clock, limiter, new Logger('glidein'), {
      what: 'glidein credential fetch(es) with a bad ticket',
      invalid: () => new DomainError('TICKET_INVALID', TICKET_REFUSED),
      limitedMessage: 'too many failed ticket attempts from this address; retry later',
      count: (reason) => metrics.refuse(reason),
    });
  }

  /**
   * Asked before anything else is done for a fetch (LimitedAddressHook): the refusal for an address
   * over the failure limit and out of its lookup allowance (see FailureLimiter), counted and logged.
   */
  refusalBeforeLookup(address: string): RetryLaterError | undefined {
    return this.refusals.beforeLookup(address);
  }

  /**
   * `bearer` is a ticket, or (for an entry with glideinBootstrap 'token') the IDTOKEN the factory
   * shipped, with `entryName` the entry the glidein runs at. A bad one of either kind gets the same
   * refusal and counts towards the same per-address failure limit.
   */
  async fetch(bearer: string, address: string, entryName?: string): Promise<GlideinCredentials> {
    const parsed = parseTicket(bearer);
    if (!parsed && JWT_SHAPE.test(bearer)) return this.tokens.fetch(bearer, entryName, address, () => this.refuse(address));
    const { ticket, entry } = await this.lookup(parsed?.id);
    const matches = sameHash(hashSecret(parsed?.secret ?? ''), ticket?.secretHash ?? DUMMY_HASH);
    if (!parsed || !ticket || !matches || ticket.consumedAt !== null || ticket.expiresAt <= this.clock.now()) return this.refuse(address);
    // An entry deleted after its tickets were issued leaves them worthless.
    if (!entry) return this.refuse(address);

    const built = await this.answers.build(ticket.frontend, entry);
    if (!built.ok) {
      // What the frontend took back is refused as such (410, ticket kept), never served from an old copy.
      if (built.absent && (await this.answers.withdrawn(ticket.frontend, entry.name, built.missing))) return this.withdrawn(ticket, built.missing);
      return this.stale(ticket, built.missing);
    }

    // The whole answer is built (and every value checked) before the ticket is spent: no failure
    // after this point may leave a glidein with a consumed ticket and nothing to show for it. The
    // renewal credential is stored in the ticket's transaction: both or neither.
    const renewal = this.renewals.prepare(ticket, entry, this.clock.now());
    const answer: GlideinCredentials = { ...built.answer, renewal: renewal.credential, renewalExpiresAt: new Date(renewal.row.expiresAt).toISOString() };
    // Spent in a batch with concurrent fetches (SpendWriter): answered only once that batch committed.
    const consumed = await this.writer.spend({
      key: ticket.id,
      spend: (now) => ({
        sql: 'UPDATE glidein_tickets SET consumed_at = ?, consumed_by = ? WHERE id = ? AND consumed_at IS NULL AND expires_at > ?',
        params: [now, address, ticket.id, now],
      }),
      renewals: [renewal.row],
      audit: [
        this.audit.line({
          action: 'ticket.consume',
          target: `entry:${ticket.entry}`,
          actor: `ticket:${ticket.id}`,
          detail: { ticket: ticket.id, batch: ticket.batchId, frontend: ticket.frontend, site: entry.site, address, idtokenVersion: built.idtokenVersion },
        }),
        this.renewals.issueLine(renewal),
      ],
    });
    // Lost the race to a concurrent fetch with the same ticket (or it expired just now).
    if (!consumed) return this.refuse(address);
    this.metrics.consumed.inc({ entry: ticket.entry });
    this.renewalMetrics.issued.inc({ entry: ticket.entry });
    return answer;
  }

  /**
   * The ticket and its entry in one query of one shape, whatever the id (a malformed bearer looks up
   * an id no ticket can have): a known id with a wrong secret must cost what an unknown one does,
   * or the time of a refusal tells a prober which ids exist. Raw rows, mapped the same way either way.
   */
  private async lookup(id: string | undefined): Promise<{ ticket: TicketRecord | null; entry: EntryPolicy | null }> {
    // Always exactly one row (NULLs when the id is unknown), so even the bytes the database sends
    // back hardly differ.
    const rows = await this.db.read((m) =>
      query<RawTicket>(
        m,
        sql`SELECT t.id AS id, t.secret_hash AS secret_hash, t.batch_id AS batch_id, t.frontend AS frontend, t.entry AS entry, t.created_at AS created_at, t.expires_at AS expires_at, t.consumed_at AS consumed_at, t.consumed_by AS consumed_by, t.stale_audited_at AS stale_audited_at, e.name AS e_name, e.site AS e_site, e.glidein_scitoken AS e_glidein_scitoken, e.max_pilot_life_seconds AS e_max_pilot_life_seconds FROM (SELECT ${sql.text(id ?? NO_SUCH_ID, 16)} AS want) w LEFT JOIN glidein_tickets t ON t.id = w.want LEFT JOIN factory_entries e ON e.name = t.entry`,
      ),
    );
    const raw = rows[0]?.id != null ? rows[0] : undefined;
    const r = raw ?? NO_SUCH_ROW;
    const ms = (v: string | number | null) => (v === null ? null : Number(v));
    const ticket: TicketRecord = {
      id: r.id ?? NO_SUCH_ID,
      secretHash: r.secret_hash ?? DUMMY_HASH,
      batchId: r.batch_id,
      frontend: r.frontend,
      entry: r.entry,
      createdAt: Number(r.created_at),
      expiresAt: Number(r.expires_at),
      consumedAt: ms(r.consumed_at),
      consumedBy: r.consumed_by,
      staleAuditedAt: ms(r.stale_audited_at),
    };
    const entry: EntryPolicy = {
      name: r.e_name ?? '',
      site: r.e_site ?? '',
      glideinScitoken: r.e_glidein_scitoken === true || r.e_glidein_scitoken === 1 || r.e_glidein_scitoken === '1',
      maxPilotLifeSeconds: r.e_max_pilot_life_seconds === null ? null : Number(r.e_max_pilot_life_seconds),
    };
    return { ticket: raw ? ticket : null, entry: raw && r.e_name !== null ? entry : null };
  }

  /** 503, ticket kept: the glidein retries until its frontend's next forward lands. */
  private async stale(ticket: TicketRecord, what: 'idtoken' | 'scitoken'): Promise<never> {
    this.metrics.refuse('stale', ticket.entry);
    await this.auditRefusal(ticket, 'CREDENTIAL_STALE', what);
    throw new RetryLaterError(
      'CREDENTIAL_STALE',
      `the factory has no ${what} with enough lifetime left for this entry yet; the ticket is still valid, retry later`,
      STALE_RETRY_SECONDS,
    );
  }

  /** 410, ticket kept: the frontend withdrew this entry's credential; a new one may come (then the ticket works). */
  private async withdrawn(ticket: TicketRecord, what: 'idtoken' | 'scitoken'): Promise<never> {
    this.metrics.refuse('withdrawn', ticket.entry);
    await this.auditRefusal(ticket, 'CREDENTIAL_WITHDRAWN', what);
    throw new DomainError('CREDENTIAL_WITHDRAWN', `the frontend withdrew this entry's ${what}; the factory will not hand it out (the ticket is not used up)`);
  }

  /** A valid ticket refused for its entry's cache: audited once per STALE_AUDIT_EVERY_MS, however often its glidein retries. */
  private async auditRefusal(ticket: TicketRecord, code: 'CREDENTIAL_STALE' | 'CREDENTIAL_WITHDRAWN', what: 'idtoken' | 'scitoken'): Promise<void> {
    await this.db.tx(async (m) => {
      const now = this.clock.now();
      if (await ticketsStore.markStaleAudited(m, ticket.id, now, now - STALE_AUDIT_EVERY_MS)) {
        await this.audit.record(m, {
          action: 'ticket.refuse',
          target: `entry:${ticket.entry}`,
          actor: `ticket:${ticket.id}`,
          result: 'failure',
          code,
          detail: { ticket: ticket.id, missing: what },
        });
      }
    });
  }

  /**
   * The one refusal for every bad ticket. Not audited (the append-only log must not be floodable by
   * anyone who can reach the port): counted in metrics and summarised in the log once a minute.
   */
  private refuse(address: string): never {
    return this.refusals.refuse(address);
  }
}
