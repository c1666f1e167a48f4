import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import type { Principal } from '../auth/principal.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/errors.js';
import { iso } from '../common/time.js';
import { looksLikeCredential } from '../common/secret-shape.js';
import { Sealer } from '../crypto/sealer.js';
import { Db } from '../database/db.js';
import { sciTokenLabel, scitokenFor } from '../protocol/matching.js';
import { GwmsCredentialDto } from './dto/gwms-credential.dto.js';
import { SciTokensMetrics } from './scitokens.metrics.js';
import { IssuersService } from './issuers.service.js';
import { SciToken, sciTokenAd } from './scitoken.entity.js';
import { SciTokensService } from './scitokens.service.js';

/**
 * GlideinWMS calls its generator once per group and entry in every cycle (a minute or so), from a
 * new process each time: an audit line per call would be thousands a day per entry, in a log that
 * is never pruned. So one line per (API key, token version) per hour, saying how many handouts it
 * stands for; the metric counts each one.
 */
export const HANDOUT_AUDIT_INTERVAL_MS = 3_600_000;

export interface Handout {
  token: string;
  lifetimeSeconds: number;
  name: string;
  expiresAt: string | null;
}

/** A caller's string in the audit detail, unless it is shaped like a credential. */
const plain = (s: string | undefined) => (s === undefined ? null : looksLikeCredential(s) ? '(not recorded)' : s);

/**
 * The stored SciToken GlideinWMS's credential generator asks for: of the entry's trust domain,
 * usable now (not revoked, expired, missing or failing its issuer's current keys), and accepted by
 * the entry's CE, chosen as forwarding chooses (matching.ts: aud naming the CE, then "any", then
 * allEntries). A token stored with a securityClass is not handed out: the generator cannot say the
 * entry's class.
 */
@Injectable()
export class SciTokenHandoutService {
  private readonly audited = new Map<string, { at: number; since: number }>();

  constructor(
    private readonly db: Db,
    private readonly scitokens: SciTokensService,
    private readonly issuers: IssuersService,
    private readonly sealer: Sealer,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly metrics: SciTokensMetrics,
  ) {}

  async handOut(who: Principal, dto: GwmsCredentialDto): Promise<Handout> {
    const rows = await this.db.read((m) => m.find(SciToken, { where: { trustDomain: dto.trustDomain }, order: { name: 'ASC' } }));
    const issuers = await this.issuers.trusted();
    const usable: SciToken[] = [];
    for (const r of rows) if (['valid', 'expiring'].includes((await this.scitokens.stateOf(r, issuers)).state)) usable.push(r);
    const entry = { site: '', trustDomain: dto.trustDomain, authMethod: 'scitoken', condorVersion: null, gatekeeper: dto.entry.gatekeeper };
    const chosen = scitokenFor(entry, usable.map(sciTokenLabel));
    if (!chosen.token) {
      this.metrics.handouts.inc({ result: 'no_match', scitoken: '' });
      const reason =
        rows.length && !usable.length ? `no usable SciToken with trust domain ${dto.trustDomain} (${rows.length} stored, none valid now)` : chosen.reason;
      throw new DomainError('CREDENTIAL_NO_MATCH', reason);
    }
    const row = usable.find((r) => r.name === chosen.token.name)!;
    const token = Buffer.from(this.sealer.open(row.sealedToken!, sciTokenAd(row.name))).toString('utf8');
    this.metrics.handouts.inc({ result: 'handed_out', scitoken: row.name });
    await this.auditHandout(who, row, dto, chosen.match);
    return { token, lifetimeSeconds: row.expiresAt! - this.clock.nowSeconds(), name: row.name, expiresAt: iso(row.expiresAt! * 1000) };
  }

  private async auditHandout(who: Principal, row: SciToken, dto: GwmsCredentialDto, match: string): Promise<void> {
    const now = this.clock.now();
    const key = `${who.id}\0${row.name}\0${row.fingerprint}`;
    const last = this.audited.get(key);
    if (last && now - last.at < HANDOUT_AUDIT_INTERVAL_MS && now >= last.at) {
      last.since++;
      return;
    }
    if (this.audited.size > 10_000) this.forgetOld(now);
    this.audited.set(key, { at: now, since: 0 });
    await this.db.tx((m) =>
      this.audit.record(m, {
        action: 'scitoken.handout',
        target: `scitoken:${row.name}`,
        detail: {
          jti: row.jti,
          match,
          group: plain(dto.group),
          entry: plain(dto.entry.name),
          gatekeeper: plain(dto.entry.gatekeeper),
          factory: plain(dto.entry.factory),
          trustDomain: dto.trustDomain,
          // Handouts of this token to this key since the previous line, not audited one by one.
          unauditedHandouts: last?.since ?? 0,
        },
      }),
    );
  }

  private forgetOld(now: number): void {
    for (const [k, v] of this.audited) if (now - v.at >= HANDOUT_AUDIT_INTERVAL_MS) this.audited.delete(k);
    if (this.audited.size > 10_000) this.audited.clear();
  }
}
