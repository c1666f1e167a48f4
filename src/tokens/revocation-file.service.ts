import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { writeFileAtomic } from '../common/atomic-file.js';
import { Settings } from '../config/settings.js';
import { KeyChanges } from '../sites/key-changes.js';
import { TokensService } from './tokens.service.js';

/**
 * Keeps frontend.revocationFile an HTCondor config snippet setting SEC_TOKEN_REVOCATION_EXPR to
 * cover every revoked, unexpired token (expired ones drop out on the next tick). Written
 * atomically, only when its content changes; readable by the daemons (0644: it holds no secret).
 */
@Injectable()
export class RevocationFileService implements OnModuleInit {
  private readonly log = new Logger('revocation-file');
  private readonly path: string | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly tokens: TokensService,
    private readonly changes: KeyChanges,
    settings: Settings,
  ) {
    this.path = settings.config.frontend.revocationFile ? resolve(settings.config.frontend.revocationFile) : undefined;
  }

  onModuleInit(): void {
    this.changes.on(async (kind) => {
      if (kind === 'revocations') await this.write();
    }, 10);
  }

  /** Rewrites the file if its content would change; returns whether it did. */
  write(): Promise<boolean> {
    const run = this.running.then(() => this.writeNow());
    this.running = run.catch(() => undefined);
    return run;
  }

  private async writeNow(): Promise<boolean> {
    if (!this.path) return false;
    const expr = await this.tokens.revocationExpression();
    const content = `# Written by glidekey: revoked, unexpired IDTOKENs. Do not edit; changes are overwritten.\nSEC_TOKEN_REVOCATION_EXPR = ${expr}\n`;
    if (existsSync(this.path) && readFileSync(this.path, 'utf8') === content) return false;
    writeFileAtomic(this.path, content, 0o644);
    this.log.log(`updated ${this.path}`);
    return true;
  }
}
