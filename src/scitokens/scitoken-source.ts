import { Injectable, OnModuleInit } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Sealer } from '../crypto/sealer.js';
import { CredentialSources, SciTokenRow } from '../forwarding/credential-sources.js';
import { SciTokenLabel, sciTokenLabel } from '../protocol/matching.js';
import { SciToken, sciTokenAd } from './scitoken.entity.js';
import { trustedIssuers } from './trusted-issuers.js';

/**
 * The stored SciTokens as forwarding reads them (registered as its SciToken source): the rows are
 * this capability's, and so are their sealing and the rule on which may be forwarded.
 */
@Injectable()
export class SciTokenSourceProvider implements OnModuleInit {
  constructor(
    private readonly sources: CredentialSources,
    private readonly sealer: Sealer,
  ) {}

  onModuleInit(): void {
    this.sources.scitokens = { stored: (m) => this.stored(m), labels: (m, nowMs) => this.labels(m, nowMs) };
  }

  /** Every stored SciToken; a token of an issuer no longer trusted is neither sent nor left where it was sent. */
  private async stored(m: EntityManager): Promise<SciTokenRow[]> {
    const rows = await m.find(SciToken);
    const trusted = await trustedIssuers(m);
    return rows.map((r) => ({
      name: r.name,
      fingerprint: r.fingerprint,
      expiresAt: r.expiresAt,
      label: sciTokenLabel(r),
      usable: r.sealedToken !== null && r.revokedAt === null && r.expiresAt !== null && trusted.has(r.issuer!),
      withdrawn: r.sealedToken === null || r.revokedAt !== null || !trusted.has(r.issuer!),
      open: () => Buffer.from(this.sealer.open(r.sealedToken!, sciTokenAd(r.name))).toString('utf8'),
    }));
  }

  /** The SciTokens an entry may be given: stored, not revoked, not expired, of a trusted issuer. */
  private async labels(m: EntityManager, nowMs: number): Promise<SciTokenLabel[]> {
    const rows = await m.find(SciToken, {
      select: {
        name: true,
        trustDomain: true,
        securityClass: true,
        audience: true,
        profile: true,
        allEntries: true,
        expiresAt: true,
        sealedToken: true,
        revokedAt: true,
        issuer: true,
      },
    });
    const trusted = await trustedIssuers(m);
    return rows
      .filter((r) => r.sealedToken !== null && r.revokedAt === null && r.expiresAt !== null && r.expiresAt * 1000 > nowMs && trusted.has(r.issuer!))
      .map(sciTokenLabel);
  }
}
