import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { importJWK, JSONWebKeySet } from 'jose';
import { readFileSync } from 'node:fs';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/errors.js';
import { issuerId } from '../common/params.js';
import { Settings } from '../config/settings.js';
import { Db } from '../database/db.js';
import { OutboxReconciler } from '../forwarding/reconcile.service.js';
import { SciToken } from './scitoken.entity.js';
import { checkJwks, TrustedIssuer } from './scitoken-check.js';
import { SciTokenIssuer } from './scitoken-issuer.entity.js';
import { RunsAs } from '../common/request-context.js';

export const ISSUER_URL = /^https?:\/\/[^\s"\\\p{Cc}]{1,240}$/u;

/** The issuers whose SciTokens are accepted: by REST, or from scitokens.issuersFile at start. */
@Injectable()
export class IssuersService implements OnModuleInit {
  private readonly log = new Logger('scitokens');

  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly settings: Settings,
    private readonly reconciler: OutboxReconciler,
  ) {}

  @RunsAs('system:config')
  async onModuleInit(): Promise<void> {
    const file = this.settings.config.scitokens.issuersFile;
    if (!file) return;
    let entries: Record<string, { issuer?: unknown; jwks?: unknown }>;
    try {
      entries = JSON.parse(readFileSync(file, 'utf8')) as typeof entries;
    } catch {
      throw new Error(`scitokens.issuersFile ${file} cannot be read as JSON`);
    }
    for (const [id, e] of Object.entries(entries)) {
      try {
        await this.put(id, e?.issuer as string, e?.jwks);
      } catch (err) {
        // The cause stays out on purpose: a failure below may quote the file's content (key material).
        // eslint-disable-next-line preserve-caught-error
        throw new Error(`scitokens.issuersFile ${file}: issuer ${id}: ${err instanceof DomainError ? err.message : 'invalid'}`);
      }
    }
    this.log.log(`loaded ${Object.keys(entries).length} trusted issuer(s) from ${file}`);
  }

  async put(id: string, issuer: string, jwks: unknown): Promise<{ created: boolean; row: SciTokenIssuer }> {
    issuerId(id);
    if (typeof issuer !== 'string' || !ISSUER_URL.test(issuer)) throw new DomainError('VALIDATION_FAILED', 'issuer must be an http(s) URL', 'issuer');
    const keys = checkJwks(jwks);
    for (const k of keys.keys) {
      try {
        await importJWK(k, k.alg ?? (k.kty === 'RSA' ? 'RS256' : 'ES256'));
      } catch {
        throw new DomainError('INVALID_JWKS', `jwks: key ${k.kid ?? '(no kid)'} cannot be imported`, 'jwks');
      }
    }
    return this.db.tx(async (m) => {
      const now = this.clock.now();
      const existing = await m.findOneBy(SciTokenIssuer, { id });
      const clash = await m.findOneBy(SciTokenIssuer, { issuer });
      if (clash && clash.id !== id) throw new DomainError('VALIDATION_FAILED', `issuer ${issuer} is already registered as ${clash.id}`, 'issuer');
      const row = Object.assign(new SciTokenIssuer(), { id, issuer, jwks: JSON.stringify(keys), createdAt: existing?.createdAt ?? now, updatedAt: now });
      await m.save(SciTokenIssuer, row);
      await this.audit.record(m, {
        action: 'scitoken-issuer.put',
        target: `issuer:${id}`,
        detail: { issuer, keys: keys.keys.map((k) => k.kid ?? null) },
      });
      return { created: !existing, row };
    });
  }

  /**
   * Stops trusting an issuer. Its stored SciTokens stay, read `invalid` (SCITOKEN_UNKNOWN_ISSUER) and
   * are never forwarded again: in the same transaction every factory entry given one gets another
   * matching SciToken or its withdrawal.
   */
  remove(id: string): Promise<void> {
    return this.db.tx(async (m) => {
      const row = await m.findOneBy(SciTokenIssuer, { id });
      if (!row) throw new DomainError('ISSUER_NOT_FOUND', `no trusted issuer with id ${id}`);
      await m.delete(SciTokenIssuer, { id });
      const tokens = await m.countBy(SciToken, { issuer: row.issuer });
      const { withdrawn } = await this.reconciler.reconcileAll(m);
      await this.audit.record(m, {
        action: 'scitoken-issuer.delete',
        target: `issuer:${id}`,
        detail: { issuer: row.issuer, storedTokens: tokens, withdrawnFromFactoryEntries: withdrawn },
      });
    });
  }

  list(): Promise<SciTokenIssuer[]> {
    return this.db.read((m) => m.find(SciTokenIssuer, { order: { id: 'ASC' } }));
  }

  async trusted(): Promise<TrustedIssuer[]> {
    return (await this.list()).map((i) => ({ issuer: i.issuer, jwks: JSON.parse(i.jwks) as JSONWebKeySet }));
  }
}
