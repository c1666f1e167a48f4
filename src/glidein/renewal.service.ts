import { Injectable, Logger } from '@nestjs/common';
import type { AuditLine } from '../audit/audit-row.js';
import { AuditService } from '../audit/audit.service.js';
import { hashSecret, sameHash } from '../auth/api-key.secret.js';
import { formatRenewal, parseRenewal, RENEWAL_REFUSED } from '../auth/renewal.secret.js';
import { Clock } from '../common/clock.js';
import { DomainError, RetryLaterError } from '../common/errors.js';
import { Settings } from '../config/settings.js';
import { Random } from '../crypto/random.js';
import { Db } from '../database/db.js';
import { FailureLimiter } from './failure-limiter.js';
import { RefusalReporter } from './refusal-reporter.js';
import { EntryPolicy, GlideinAnswers, GlideinCredentials, STALE_RETRY_SECONDS } from './glidein-answer.js';
import { SpendWriter } from './spend-writer.js';
import { GlideinRenewal } from './renewal.entity.js';
import { GlideinMetrics, RenewalResult } from './glidein.metrics.js';
import { query, sql } from '../database/sql.js';

/** A hash that matches no secret, compared in place of a missing one so every path does the same work. */
const DUMMY_HASH = hashSecret('no such renewal credential');
/** An id no renewal has (ids are 16 hex digits), looked up for a malformed bearer. */
const NO_SUCH_ID = 'not-a-renewal-id';

/** A bootstrap's renewal credential, made before its ticket is spent and stored in the same transaction. */
export interface PreparedRenewal {
  credential: string;
  row: GlideinRenewal;
}

interface RawRenewal {
  id: string | null;
  secret_hash: string | null;
  previous_hash: string | null;
  rotated_at: string | number | null;
  generation: string | number | null;
  ticket_id: string | null;
  batch_id: string | null;
  frontend: string | null;
  entry: string | null;
  created_at: string | number | null;
  expires_at: string | number | null;
  revoked_at: string | number | null;
  e_name: string | null;
  e_site: string | null;
  e_glidein_scitoken: boolean | number | string | null;
  e_max_pilot_life_seconds: string | number | null;
  e_created_at: string | number | null;
}

const ms = (v: string | number | null) => (v === null ? null : Number(v));

/**
 * Renewal inside a running glidein: the renewal credential a bootstrap hands out buys the entry's
 * current credentials again, and a new renewal credential (the presented one is spent). Bounded by
 * the pilot's life, refused once the entry's credential is gone, revocable by the factory admin.
 */
@Injectable()
export class RenewalService {
  private readonly log = new Logger('renewal');
  private readonly refusals: RefusalReporter;

  constructor(
    private readonly db: Db,
    private readonly answers: GlideinAnswers,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly settings: Settings,
    private readonly random: Random,
    private readonly limiter: FailureLimiter,
    private readonly metrics: GlideinMetrics,
    private readonly writer: SpendWriter,
  ) {
    this.refusals = new RefusalReporter(clock, limiter, this.log, {
      what: 'glidein renewal(s) with a bad renewal credential',
      invalid: () => new DomainError('RENEWAL_INVALID', RENEWAL_REFUSED),
      limitedMessage: 'too many failed ticket or renewal attempts from this address; retry later',
      count: (reason) => metrics.count(reason),
    });
  }

  /** How long a glidein of this entry may renew: the entry's own bound, else tickets.maxPilotLifeSeconds. */
  pilotLifeMs(entryMax: number | null): number {
    return (entryMax ?? this.settings.config.tickets.maxPilotLifeSeconds) * 1000;
  }

  /**
   * The renewal credential for a glidein bootstrapping now with `ticket` (or, `bootstrap` 'token',
   * with the IDTOKEN version whose id is ticket.id and batchId); nothing is stored yet.
   */
  prepare(
    ticket: { id: string; batchId: string; frontend: string; entry: string },
    entry: Pick<EntryPolicy, 'maxPilotLifeSeconds'>,
    now: number,
    bootstrap: 'ticket' | 'token' = 'ticket',
  ): PreparedRenewal {
    const id = this.random.hex(8);
    const secret = this.random.base64url(32);
    const row = Object.assign(new GlideinRenewal(), {
      id,
      secretHash: hashSecret(secret),
      previousHash: null,
      rotatedAt: null,
      generation: 0,
      bootstrap,
      ticketId: ticket.id,
      batchId: ticket.batchId,
      frontend: ticket.frontend,
      entry: ticket.entry,
      createdAt: now,
      expiresAt: now + this.pilotLifeMs(entry.maxPilotLifeSeconds),
      renewedAt: null,
      renewedBy: null,
      revokedAt: null,
    } satisfies GlideinRenewal);
    return { credential: formatRenewal(id, secret), row };
  }

  /** The audit line of a stored renewal credential, written with it in the bootstrap's batch (SpendWriter). */
  issueLine(p: PreparedRenewal): AuditLine {
    const r = p.row;
    return this.audit.line({
      action: 'renewal.issue',
      target: `entry:${r.entry}`,
      actor: r.bootstrap === 'token' ? `idtoken-version:${r.ticketId}` : `ticket:${r.ticketId}`,
      detail: {
        renewal: r.id,
        bootstrap: r.bootstrap,
        ...(r.bootstrap === 'token' ? { idtokenVersionId: r.ticketId } : { ticket: r.ticketId }),
        batch: r.batchId,
        frontend: r.frontend,
        expiresAt: new Date(r.expiresAt).toISOString(),
      },
    });
  }

  /** Asked by LimitedAddressHook before anything else: the refusal for an address over the failure limit, counted. */
  refusalBeforeLookup(address: string): RetryLaterError | undefined {
    return this.refusals.beforeLookup(address);
  }

  async renew(bearer: string, address: string): Promise<GlideinCredentials> {
    // A retry after a lost answer is sent after that answer was made; a request that arrived before
    // the rotation is a concurrent duplicate, never a lost answer's retry.
    const receivedAt = this.clock.now();
    const parsed = parseRenewal(bearer);
    const { row, entry } = await this.lookup(parsed?.id);
    const hash = hashSecret(parsed?.secret ?? '');
    const current = sameHash(hash, row?.secretHash ?? DUMMY_HASH);
    const previous = sameHash(hash, row?.previousHash ?? DUMMY_HASH);
    const grace = this.settings.config.tickets.renewalGraceSeconds * 1000;
    const lostAnswer =
      !current && previous && row?.previousHash != null && row.rotatedAt !== null && receivedAt > row.rotatedAt && receivedAt < row.rotatedAt + grace;
    if (!parsed || !row || !(current || lostAnswer)) return this.refuse(address);

    if (row.revokedAt !== null)
      return this.deny('revoked', row.entry, new DomainError('RENEWAL_REVOKED', "this glidein's renewal credential was revoked by the factory admin"));
    const deadline = Math.min(row.expiresAt, entry ? row.createdAt + this.pilotLifeMs(entry.maxPilotLifeSeconds) : row.expiresAt);
    if (receivedAt >= deadline)
      return this.deny(
        'pilot_life_over',
        row.entry,
        new DomainError('PILOT_LIFE_OVER', `the pilot's life ended at ${new Date(deadline).toISOString()}: no more renewals`),
      );
    if (!entry) return this.deny('withdrawn', row.entry, withdrawn('the entry no longer exists (or was deleted and created again since the bootstrap)'));
    const built = await this.answers.build(row.frontend, entry);
    if (!built.ok && built.absent) return this.deny('withdrawn', row.entry, withdrawn(`the factory no longer holds the entry's ${built.missing}`));
    if (!built.ok) {
      return this.deny(
        'stale',
        row.entry,
        new RetryLaterError(
          'CREDENTIAL_STALE',
          `the factory has no ${built.missing} with enough lifetime left for this entry yet; the renewal credential is still valid, retry later`,
          STALE_RETRY_SECONDS,
        ),
      );
    }

    // The whole answer is built before the credential is spent, as for the bootstrap fetch.
    const secret = this.random.base64url(32);
    const answer: GlideinCredentials = { ...built.answer, renewal: formatRenewal(row.id, secret), renewalExpiresAt: new Date(deadline).toISOString() };
    // Spends exactly the credential that was read: of any number of concurrent renewals with it,
    // one updates the row. A lost answer's credential retires both it and its unused successor.
    // Batched with concurrent fetches and renewals (SpendWriter): answered once the batch committed.
    const renewed = await this.writer.spend({
      key: row.id,
      spend: (now) => ({
        sql: `UPDATE glidein_renewals SET secret_hash = ?, previous_hash = ?, rotated_at = ?, generation = generation + 1, renewed_at = ?, renewed_by = ? WHERE id = ? AND secret_hash = ? AND revoked_at IS NULL${current ? '' : ' AND previous_hash = ?'}`,
        params: [hashSecret(secret), current ? row.secretHash : null, now, now, address, row.id, row.secretHash, ...(current ? [] : [row.previousHash])],
      }),
      renewals: [],
      audit: [
        this.audit.line({
          action: 'glidein.renew',
          target: `entry:${row.entry}`,
          actor: `renewal:${row.id}`,
          detail: {
            renewal: row.id,
            generation: row.generation + 1,
            lostAnswer,
            ticket: row.ticketId,
            batch: row.batchId,
            frontend: row.frontend,
            site: entry.site,
            address,
            idtokenVersion: built.idtokenVersion,
          },
        }),
      ],
    });
    // Lost the race to a concurrent renewal with the same credential (or it was revoked just now).
    if (!renewed) return this.refuse(address);
    this.metrics.count(lostAnswer ? 'grace' : 'renewed', row.entry);
    return answer;
  }

  /**
   * The renewal and its entry in one query of one shape, whatever the id: a known id with a wrong
   * secret must cost what an unknown one does (as for tickets: GlideinService.lookup).
   */
  private async lookup(id: string | undefined): Promise<{ row: GlideinRenewal | null; entry: EntryPolicy | null }> {
    const rows = await this.db.read((m) =>
      query<RawRenewal>(
        m,
        sql`SELECT r.id AS id, r.secret_hash AS secret_hash, r.previous_hash AS previous_hash, r.rotated_at AS rotated_at, r.generation AS generation, r.ticket_id AS ticket_id, r.batch_id AS batch_id, r.frontend AS frontend, r.entry AS entry, r.created_at AS created_at, r.expires_at AS expires_at, r.revoked_at AS revoked_at, e.name AS e_name, e.site AS e_site, e.glidein_scitoken AS e_glidein_scitoken, e.max_pilot_life_seconds AS e_max_pilot_life_seconds, e.created_at AS e_created_at FROM (SELECT ${sql.text(id ?? NO_SUCH_ID, 16)} AS want) w LEFT JOIN glidein_renewals r ON r.id = w.want LEFT JOIN factory_entries e ON e.name = r.entry`,
      ),
    );
    const r = rows[0];
    const found = r?.id != null;
    const row = Object.assign(new GlideinRenewal(), {
      id: r?.id ?? NO_SUCH_ID,
      secretHash: r?.secret_hash ?? DUMMY_HASH,
      previousHash: r?.previous_hash ?? null,
      rotatedAt: ms(r?.rotated_at ?? null),
      generation: Number(r?.generation ?? 0),
      ticketId: r?.ticket_id ?? '',
      batchId: r?.batch_id ?? '',
      frontend: r?.frontend ?? '',
      entry: r?.entry ?? '',
      createdAt: Number(r?.created_at ?? 0),
      expiresAt: Number(r?.expires_at ?? 0),
      revokedAt: ms(r?.revoked_at ?? null),
    });
    const sci = r?.e_glidein_scitoken;
    const entry: EntryPolicy = {
      name: r?.e_name ?? '',
      site: r?.e_site ?? '',
      glideinScitoken: sci === true || sci === 1 || sci === '1',
      maxPilotLifeSeconds: ms(r?.e_max_pilot_life_seconds ?? null),
    };
    // An entry deleted and created again since the bootstrap is another entry: its glideins were withdrawn with the old one.
    const same = found && r.e_name !== null && Number(r.e_created_at) <= row.createdAt;
    return { row: found ? row : null, entry: same ? entry : null };
  }

  /** A refusal of a valid credential: counted with its entry, not audited (a glidein may retry it for hours), credential kept. */
  private deny(result: RenewalResult, entry: string, err: DomainError): never {
    this.metrics.count(result, entry);
    throw err;
  }

  /** The one refusal for every bad credential: counted towards the address's failure limit, not audited. */
  private refuse(address: string): never {
    return this.refusals.refuse(address);
  }
}

const withdrawn = (why: string) => new DomainError('CREDENTIAL_WITHDRAWN', `${why}: renewal is refused; the glidein keeps what it has until it expires`);
