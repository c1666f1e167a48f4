import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { hashSecret, sameHash } from '../auth/api-key.secret.js';
import { Clock } from '../common/clock.js';
import { DomainError, RetryLaterError } from '../common/errors.js';
import { Settings } from '../config/settings.js';
import { Db } from '../database/db.js';
import { bootstrapsOf, bootstrapSpend } from '../factory/idtoken-versions.store.js';
import { EntryPolicy, GlideinAnswers, GlideinCredentials, STALE_RETRY_SECONDS } from './glidein-answer.js';
import { GlideinMetrics } from './glidein.metrics.js';
import { RenewalService } from './renewal.service.js';
import { SpendWriter } from './spend-writer.js';
import { query, sql } from '../database/sql.js';

/** A compact JWT: what a factory-shipped IDTOKEN looks like (anything else is a ticket or nothing). */
export const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

const DUMMY_HASH = hashSecret('no such idtoken');

interface RawVersion {
  id: string | null;
  token_hash: string | null;
  frontend: string | null;
  version: string | number | null;
  expires_at: string | number | null;
  e_name: string | null;
  e_site: string | null;
  e_glidein_scitoken: boolean | number | string | null;
  e_max_pilot_life_seconds: string | number | null;
  e_glidein_bootstrap: string | null;
}

/**
 * The token bootstrap, for entries with glideinBootstrap 'token': a glidein submitted by an
 * unpatched GlideinWMS factory has no ticket of its own (one job.condor per entry, `queue N`, one
 * environment), but it has the IDTOKEN the factory shipped it from its cache. Presenting exactly
 * those bytes, with the entry it runs at, buys what a ticket buys: the entry's current credentials
 * and a renewal credential bound to this glidein.
 *
 * That token is shared by every glidein of the entry (and by whoever reads it on a worker node),
 * so any holder can start a renewal chain. What bounds it: the entry must opt in (off by default,
 * and switching it back to 'ticket' stops new chains at once); the token must be one the cache
 * holds or held among its last KEPT_VERSIONS versions, unexpired, not withdrawn; each chain ends
 * with the entry's pilot life; every chain is audited (renewal.issue, bootstrap 'token', the
 * version's id) and revocable per glidein, per version (its batch) and per entry; and one version
 * starts at most tickets.maxTokenBootstraps chains, which bounds the rows a leaked token can add.
 */
@Injectable()
export class TokenBootstrap {
  constructor(
    private readonly db: Db,
    private readonly answers: GlideinAnswers,
    private readonly renewals: RenewalService,
    private readonly renewalMetrics: GlideinMetrics,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly settings: Settings,
    private readonly writer: SpendWriter,
  ) {}

  /** `refuse` is the bootstrap's one refusal (the ticket's 401, counted towards the address's failure limit). */
  async fetch(token: string, entryName: string | undefined, address: string, refuse: () => never): Promise<GlideinCredentials> {
    const hash = hashSecret(token);
    const { version, entry, bootstrapOff } = await this.lookup(hash, entryName ?? '');
    const matches = sameHash(hash, version?.tokenHash ?? DUMMY_HASH);
    const now = this.clock.now();
    if (!version || !matches || version.expiresAt <= now || expiryClaim(token) <= now) return refuse();
    // From here on only a holder of a valid cached token: telling it why is no oracle, and it is not
    // counted as a failure (the glideins of a ticket-only entry behind one NAT must not rate-limit
    // their address by trying).
    if (bootstrapOff || (entry && (await this.sharedWithTicketEntry(hash)))) {
      throw new DomainError(
        'TOKEN_BOOTSTRAP_OFF',
        bootstrapOff
          ? 'this entry takes glidein bootstraps with a ticket only (glideinBootstrap "ticket")'
          : 'this IDTOKEN also serves an entry that takes tickets only: a token bootstraps only when every entry it was forwarded to has glideinBootstrap "token" (the frontend sends one token per site)',
      );
    }
    if (!entry) return refuse();

    const built = await this.answers.build(version.frontend, entry);
    if (!built.ok) {
      if (built.absent) throw new DomainError('CREDENTIAL_WITHDRAWN', `the factory no longer holds this entry's ${built.missing}`);
      throw new RetryLaterError(
        'CREDENTIAL_STALE',
        `the factory has no ${built.missing} with enough lifetime left for this entry yet; retry later`,
        STALE_RETRY_SECONDS,
      );
    }
    const renewal = this.renewals.prepare({ id: version.id, batchId: version.id, frontend: version.frontend, entry: entry.name }, entry, now, 'token');
    const answer: GlideinCredentials = { ...built.answer, renewal: renewal.credential, renewalExpiresAt: new Date(renewal.row.expiresAt).toISOString() };
    const max = this.settings.config.tickets.maxTokenBootstraps;
    // Counted and stored in a batch with concurrent fetches and renewals (SpendWriter), the count
    // and the renewal credential together or neither: answered only once that batch committed. Each
    // bootstrap is its own conditional UPDATE, so a batch of many with one version counts each.
    const counted = await this.writer.spend({
      key: version.id,
      spend: bootstrapSpend(version.id, max),
      renewals: [renewal.row],
      audit: [this.renewals.issueLine(renewal)],
    });
    if (!counted) {
      // Only a holder of a valid token gets here: the limit is no oracle. Gone meanwhile: the one refusal.
      const n = await this.db.read((m) => bootstrapsOf(m, version.id));
      if (n !== null && n >= max)
        throw new DomainError(
          'TOKEN_BOOTSTRAPS_EXHAUSTED',
          `this IDTOKEN version has started its ${max} renewal chains (tickets.maxTokenBootstraps); glideins with the next version bootstrap`,
        );
      return refuse();
    }
    this.renewalMetrics.issued.inc({ entry: entry.name });
    return answer;
  }

  /**
   * The newest kept version with this hash for this entry, and the entry while it takes token
   * bootstraps and was not created again since the version arrived: one query of one shape whatever
   * matches (an index lookup by SHA-256 of a 256-bit-keyed token tells a prober nothing usable).
   */
  /**
   * Whether the factory holds this very token for an entry that takes tickets only. The frontend
   * forwards one token per site to every entry of the site, so without this check one opted-in
   * entry would let the token of any sibling entry's glideins start renewal chains.
   */
  private async sharedWithTicketEntry(hash: string): Promise<boolean> {
    const rows = await this.db.read((m) =>
      query(
        m,
        sql`SELECT 1 AS one FROM idtoken_versions v JOIN factory_entries e ON e.name = v.entry WHERE v.token_hash = ${sql.text(hash, 64)} AND e.glidein_bootstrap <> 'token' LIMIT 1`,
      ),
    );
    return rows.length > 0;
  }

  private async lookup(
    hash: string,
    entryName: string,
  ): Promise<{ version: { id: string; tokenHash: string; frontend: string; expiresAt: number } | null; entry: EntryPolicy | null; bootstrapOff: boolean }> {
    const rows = await this.db.read((m) =>
      query<RawVersion>(
        m,
        sql`SELECT v.id AS id, v.token_hash AS token_hash, v.frontend AS frontend, v.version AS version, v.expires_at AS expires_at, e.name AS e_name, e.site AS e_site, e.glidein_scitoken AS e_glidein_scitoken, e.max_pilot_life_seconds AS e_max_pilot_life_seconds, e.glidein_bootstrap AS e_glidein_bootstrap FROM (SELECT ${sql.text(hash, 64)} AS want_hash, ${sql.text(entryName, 128)} AS want_entry) w LEFT JOIN idtoken_versions v ON v.token_hash = w.want_hash AND v.entry = w.want_entry LEFT JOIN factory_entries e ON e.name = v.entry AND e.created_at <= v.received_at ORDER BY v.version DESC LIMIT 1`,
      ),
    );
    const r = rows[0];
    if (!r || r.id === null) return { version: null, entry: null, bootstrapOff: false };
    const version = { id: r.id, tokenHash: r.token_hash ?? DUMMY_HASH, frontend: r.frontend ?? '', expiresAt: Number(r.expires_at) };
    const sci = r.e_glidein_scitoken;
    const entry: EntryPolicy | null =
      r.e_name !== null && r.e_glidein_bootstrap === 'token'
        ? {
            name: r.e_name,
            site: r.e_site ?? '',
            glideinScitoken: sci === true || sci === 1 || sci === '1',
            maxPilotLifeSeconds: r.e_max_pilot_life_seconds === null ? null : Number(r.e_max_pilot_life_seconds),
          }
        : null;
    return { version, entry, bootstrapOff: r.e_name !== null && r.e_glidein_bootstrap !== 'token' };
  }
}

/**
 * The token's own `exp` (ms), checked besides the expiry the envelope stated: it matched a cached
 * token byte for byte, so its claims are what the frontend sent. No readable claim: the envelope's bound only.
 */
function expiryClaim(token: string): number {
  try {
    const exp = (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    if (exp === undefined) return Infinity;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : -Infinity;
  } catch {
    return Infinity;
  }
}
