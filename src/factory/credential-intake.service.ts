import { Injectable } from '@nestjs/common';
import { EntityManager, LessThan } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { Principal } from '../auth/principal.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/errors.js';
import { Settings } from '../config/settings.js';
import { Random } from '../crypto/random.js';
import { Sealer } from '../crypto/sealer.js';
import { Db } from '../database/db.js';
import { checkFreshness, checkKeyProofTime, CredentialsBody, EnvelopeBody, envelopeSender, openEnvelope } from '../protocol/envelope.js';
import { IdentityService } from '../identity/identity.service.js';
import { EventBus } from '../events/event-bus.js';
import { FactoryMetrics } from './factory.metrics.js';
import { CachedCredential, cachedCredentialAd, groupsColumn, groupsOf } from './cached-credential.entity.js';
import { recordIdtokenVersion } from './idtoken-versions.store.js';
import { FrontendKeyFollow } from './key-follow.js';
import { RegisteredFrontend } from './registered-frontend.entity.js';
import { SeenEnvelope } from './seen-envelope.entity.js';
import { CredentialOutcome, heldFor, IntakeResult, RefusalCode, WithdrawalIntake } from './withdrawal-intake.js';
import { WithdrawnCredential } from './withdrawn-credential.entity.js';
import { query, rowLock, sql } from '../database/sql.js';

export type { CredentialOutcome, IntakeResult, RefusalCode } from './withdrawal-intake.js';

/**
 * POST /factory/credentials. An envelope is taken only when: its sender's public key is a
 * registered frontend (or a key proof from that key announces it: FrontendKeyFollow, and the
 * re-pin commits with the intake), the API key presenting it is that frontend's, the MAC verifies, the JSON
 * matches the schema, it was created within the window, and its id was never seen. Then each
 * credential is cached (or each withdrawal applied, WithdrawalIntake): all in one transaction,
 * audited. Files follow the commit.
 */
@Injectable()
export class CredentialIntakeService {
  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
    private readonly clock: Clock,
    private readonly settings: Settings,
    private readonly identity: IdentityService,
    private readonly audit: AuditService,
    private readonly metrics: FactoryMetrics,
    private readonly events: EventBus,
    private readonly withdrawals: WithdrawalIntake,
    private readonly keyFollow: FrontendKeyFollow,
    private readonly random: Random,
  ) {}

  async receive(who: Principal, raw: unknown): Promise<{ id: string; results: CredentialOutcome[] }> {
    const env = envelopeSender(raw);
    const kp = await this.identity.keyPair('factory');
    let body: EnvelopeBody;
    let resolved: Awaited<ReturnType<FrontendKeyFollow['resolve']>>;
    try {
      resolved = await this.keyFollow.resolve(who, env, kp.privateKey);
      // Sealed with the pinned key, or with the one a verified key proof announces.
      body = await openEnvelope(env, Buffer.from(env.from, 'base64'), kp.privateKey);
    } finally {
      kp.privateKey.fill(0);
    }
    const { frontend, follow } = resolved;
    if (follow) checkKeyProofTime(body, follow.createdAt);
    if (body.frontend !== frontend.name)
      throw new DomainError('ENVELOPE_SENDER_MISMATCH', `the envelope names frontend ${body.frontend}, registered here as ${frontend.name}`);
    const windowMs = this.settings.config.factory.envelopeWindowSeconds * 1000;
    checkFreshness(body, this.clock.now(), windowMs);
    const results = await this.db.tx(async (m) => {
      const now = this.clock.now();
      // Ids outside the window can never come back (freshness refuses them first), so they need not be kept.
      await m.delete(SeenEnvelope, { receivedAt: LessThan(now - 2 * windowMs) });
      await this.senderStill(m, who, frontend.name, follow ? [env.from, follow.from] : [env.from]);
      const replayed = () => new DomainError('ENVELOPE_REPLAYED', 'this envelope was received before');
      if (await m.existsBy(SeenEnvelope, { id: body.id })) throw replayed();
      // Two copies racing on PostgreSQL: the primary key lets one in; the other is a replay, not a 500.
      await m.insert(SeenEnvelope, { id: body.id, frontend: frontend.name, createdAt: body.createdAt, receivedAt: now }).catch((err: unknown) => {
        throw isUniqueViolation(err) ? replayed() : err;
      });
      if (follow) await this.keyFollow.apply(m, frontend.name, follow, body.id);
      return body.v === 1 ? this.store(m, frontend.name, body, now) : this.withdrawals.apply(m, frontend.name, body, now);
    });
    const counter = body.v === 1 ? this.metrics.received : this.metrics.withdrawals;
    for (const r of results) counter.inc({ type: r.type, result: r.code ?? r.result });
    return { id: body.id, results };
  }

  /**
   * The sender was checked before the transaction; a PATCH that re-pinned its key or rotated its API
   * key (after a compromise) may have committed since. Read again under the transaction (FOR SHARE
   * on PostgreSQL waits for such a change in flight): an envelope opened with a key or presented
   * with an API key the frontend no longer holds stores nothing. `keys`: the key that sealed the
   * envelope, and for a key follow the pinned key it follows from.
   */
  private async senderStill(m: EntityManager, who: Principal, name: string, keys: string[]): Promise<void> {
    const now = await m.findOne(RegisteredFrontend, { where: { name }, ...rowLock(m, 'share') });
    if (!now || now.apiKeyId !== who.id || !keys.includes(now.publicKey)) {
      throw new DomainError(
        'ENVELOPE_UNKNOWN_SENDER',
        "the envelope's sender changed while it was being opened (deleted, its key re-pinned or its API key rotated)",
      );
    }
  }

  /** Caches each credential unless the cache holds a newer version or a withdrawal at least as new (or it is expired, or for an unknown entry). */
  private async store(m: EntityManager, frontend: string, body: CredentialsBody, now: number): Promise<CredentialOutcome[]> {
    const { entries, held, tombs } = await heldFor(
      m,
      frontend,
      body.credentials.map((c) => c.entry),
    );
    const out: CredentialOutcome[] = [];
    const stored: CachedCredential[] = [];
    for (const c of body.credentials) {
      const base = { entry: c.entry, type: c.type, version: c.version };
      const key = `${c.entry}\0${c.type}`;
      const have = held.get(key);
      const tomb = tombs.get(key);
      const fingerprint = this.sealer.fingerprint(c.type, Buffer.from(c.value, 'utf8'));
      let code: RefusalCode | null = null;
      if (!entries.has(c.entry)) code = 'ENTRY_NOT_FOUND';
      else if (c.expiresAt * 1000 <= now) code = 'CREDENTIAL_EXPIRED';
      else if (have && (c.version < have.version || (c.version === have.version && have.fingerprint !== fingerprint))) code = 'CREDENTIAL_OLDER';
      // A late copy of what was withdrawn (or of anything before the withdrawal) never comes back.
      else if (tomb && c.version <= tomb.version) code = 'CREDENTIAL_OLDER';
      if (code) {
        out.push({ ...base, result: 'refused', code });
        await this.audit.record(m, {
          action: 'factory.credential.refuse',
          target: `entry:${c.entry}`,
          result: 'failure',
          code,
          detail: {
            frontend,
            type: c.type,
            version: c.version,
            heldVersion: have?.version ?? null,
            withdrawnVersion: tomb?.version ?? null,
            envelope: body.id,
          },
        });
        continue;
      }
      const groups = groupsColumn(c.groups);
      if (have && have.version === c.version) {
        // The same credential for other groups (the frontend's groups changed): its files follow.
        if (have.groups !== groups) {
          await m.update(CachedCredential, { frontend, entry: c.entry, type: c.type }, { groups });
          have.groups = groups;
          stored.push(have);
          out.push({ ...base, result: 'stored' });
        } else out.push({ ...base, result: 'unchanged' });
        continue;
      }
      const row = Object.assign(new CachedCredential(), {
        frontend,
        entry: c.entry,
        type: c.type,
        version: c.version,
        fingerprint,
        expiresAt: c.expiresAt * 1000,
        receivedAt: now,
        envelopeId: body.id,
        groups,
      });
      row.sealedValue = this.sealer.seal(Buffer.from(c.value, 'utf8'), cachedCredentialAd(row));
      await upsertCached(m, row);
      // Kept for the token bootstrap (entries with glideinBootstrap 'token'): a hash only.
      if (c.type === 'idtoken') await recordIdtokenVersion(m, this.random.hex(8), row, c.value);
      if (tomb) {
        await m.delete(WithdrawnCredential, { frontend, entry: c.entry, type: c.type });
        tombs.delete(key);
      }
      held.set(key, row);
      stored.push(row);
      out.push({ ...base, result: 'stored' });
    }
    const count = (r: IntakeResult) => out.filter((o) => o.result === r).length;
    await this.audit.record(m, {
      action: 'factory.credentials.receive',
      target: `frontend:${frontend}`,
      detail: {
        envelope: body.id,
        stored: count('stored'),
        unchanged: count('unchanged'),
        refused: count('refused'),
        credentials: stored.slice(0, 50).map((r) => ({ entry: r.entry, type: r.type, version: r.version, fingerprint: r.fingerprint, groups: groupsOf(r) })),
      },
    });
    if (stored.length)
      this.events.publish(m, 'cache.changed', { stored: stored.map((r) => ({ frontend: r.frontend, entry: r.entry, type: r.type })), removed: [] });
    return out;
  }
}

const CACHED = ['frontend', 'entry', 'type', 'version', 'sealed_value', 'fingerprint', 'expires_at', 'received_at', 'envelope_id', 'groups'];
const CACHED_COLUMNS = sql.raw(CACHED.map((c) => `"${c}"`).join(', '));
/** Everything but the key (frontend, entry, type) is replaced. */
const CACHED_UPDATE = sql.raw(
  CACHED.slice(3)
    .map((c) => `"${c}" = excluded."${c}"`)
    .join(', '),
);

/**
 * Writes the cached row (insert, or replace the one held for its frontend, entry and type): plain
 * SQL with bound parameters, as save() would, without its read-before-write and entity hydration on
 * every credential of an envelope.
 */
async function upsertCached(m: EntityManager, r: CachedCredential): Promise<void> {
  const values = [r.frontend, r.entry, r.type, r.version, r.sealedValue, r.fingerprint, r.expiresAt, r.receivedAt, r.envelopeId, r.groups];
  await query(
    m,
    sql`INSERT INTO cached_credentials (${CACHED_COLUMNS}) VALUES (${sql.list(values)}) ON CONFLICT (frontend, entry, type) DO UPDATE SET ${CACHED_UPDATE}`,
  );
}

/** A primary-key or unique violation, on PostgreSQL (23505) or SQLite. */
function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; driverError?: { code?: string } };
  const code = e.driverError?.code ?? e.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
