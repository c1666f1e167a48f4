import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { DomainError } from '../common/errors.js';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { writeFileAtomic } from '../common/atomic-file.js';
import { Settings } from '../config/settings.js';
import { EventBus, ORDER } from '../events/event-bus.js';
import { RevocationCheckFailed } from './revocation-check.js';
import { TokensMetrics } from './tokens.metrics.js';
import { TokensService } from './tokens.service.js';

/**
 * Keeps frontend.revocationFile an HTCondor config snippet setting SEC_TOKEN_REVOCATION_EXPR to
 * cover every revoked, unexpired token (expired ones drop out on the next tick). Written
 * atomically, only when its content changes; readable by the daemons (0644: it holds no secret).
 * A value the model of the collector would read differently (or one past the size ceilings) is
 * never written: the last good file stays, and the refusal is logged, counted and audited.
 */
@Injectable()
export class RevocationFileService implements OnModuleInit {
  private readonly log = new Logger('revocation-file');
  private readonly path: string | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly tokens: TokensService,
    private readonly events: EventBus,
    private readonly audit: AuditService,
    private readonly metrics: TokensMetrics,
    settings: Settings,
  ) {
    this.path = settings.config.frontend.revocationFile ? resolve(settings.config.frontend.revocationFile) : undefined;
  }

  onModuleInit(): void {
    this.events.on(
      'revocations.changed',
      async () => {
        await this.write();
      },
      ORDER.files,
    );
  }

  /** Rewrites the file if its content would change; returns whether it did. */
  write(): Promise<boolean> {
    const run = this.running.then(() => this.writeNow());
    this.running = run.catch(() => undefined);
    return run;
  }

  private async writeNow(): Promise<boolean> {
    if (!this.path) return false;
    let expr: string;
    let depth: number;
    try {
      ({ expr, depth } = await this.tokens.revocationExpression());
    } catch (err) {
      if (!(err instanceof RevocationCheckFailed) && !(err instanceof DomainError && err.code === 'REVOCATION_LIMIT')) throw err;
      const reason = err instanceof RevocationCheckFailed ? 'check_failed' : 'limit';
      this.metrics.fileRefusals.inc({ reason });
      this.log.error(`NOT updating ${this.path}: ${err.message}. The collector keeps the last good file; revocations since then are not in force there.`);
      await this.audit.recordAlone({
        action: 'revocation-file.refuse',
        target: 'revocation-file',
        result: 'failure',
        code: reason === 'limit' ? 'REVOCATION_LIMIT' : 'REVOCATION_CHECK_FAILED',
        detail: { reason: err.message },
      });
      return false;
    }
    const content = `# Written by glidekey: revoked, unexpired IDTOKENs. Do not edit; changes are overwritten.\nSEC_TOKEN_REVOCATION_EXPR = ${expr}\n`;
    if (existsSync(this.path) && readFileSync(this.path, 'utf8') === content) return false;
    writeFileAtomic(this.path, content, 0o644);
    this.log.log(`updated ${this.path} (${Buffer.byteLength(content)} bytes, depth ${depth})`);
    await this.events.emit('collector.files', { revocationFile: true });
    return true;
  }
}
