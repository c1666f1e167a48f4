import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service.js';

/**
 * Minted and verified IDTOKENs (labels: site names and verification results, never a token or its
 * jti), and the revocation expression's size and health: terms, depth, bytes, refusals and failed checks.
 */
@Injectable()
export class TokensMetrics {
  readonly tokensMinted: Counter<'site'>;
  readonly verifications: Counter<'result'>;
  readonly terms: Gauge<'kind'>;
  readonly depth: Gauge;
  readonly bytes: Gauge;
  readonly limitRefusals: Counter<'kind'>;
  readonly fileRefusals: Counter<'reason'>;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.tokensMinted = new Counter({ name: 'glidekey_tokens_minted_total', help: 'IDTOKENs minted, by site', labelNames: ['site'] as const, registers });
    this.verifications = new Counter({
      name: 'glidekey_token_verifications_total',
      help: 'IDTOKEN verifications, by result (valid or the failure reason)',
      labelNames: ['result'] as const,
      registers,
    });
    this.terms = new Gauge({
      name: 'glidekey_revocation_expr_terms',
      help: 'Terms in the last revocation expression built: listed jtis and revoked subjects',
      labelNames: ['kind'] as const,
      registers,
    });
    this.depth = new Gauge({
      name: 'glidekey_revocation_expr_depth',
      help: 'Nesting depth of the last revocation expression built, as the model counts it (HTCondor fails at 400)',
      registers,
    });
    this.bytes = new Gauge({ name: 'glidekey_revocation_expr_bytes', help: 'Size in bytes of the last revocation expression built', registers });
    this.limitRefusals = new Counter({
      name: 'glidekey_revocation_limit_refusals_total',
      help: 'Revocations refused because the expression would pass revocation.maxJtis or maxSubjects',
      labelNames: ['kind'] as const,
      registers,
    });
    this.fileRefusals = new Counter({
      name: 'glidekey_revocation_file_refusals_total',
      help: 'Revocation files not written because the check failed (the last good file stays), by reason',
      labelNames: ['reason'] as const,
      registers,
    });
  }
}
