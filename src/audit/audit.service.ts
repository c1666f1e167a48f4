import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { actorName } from '../auth/principal.js';
import { Clock } from '../common/clock.js';
import { requestContext } from '../common/request-context.js';
import { looksLikeCredential } from '../common/secret-shape.js';
import { Db } from '../database/db.js';
import type { AuditAction } from './audit-actions.js';
import { AuditEntry } from './audit-entry.entity.js';
import type { AuditLine } from './audit-row.js';

export interface AuditRecord {
  action: AuditAction;
  target?: string | null;
  result?: AuditEntry['result'];
  code?: string | null;
  /** Non-secret facts only: names, versions, counts, times. */
  detail?: Record<string, unknown>;
  /**
   * A caller the service authenticated itself (a glidein's ticket or renewal credential). Otherwise
   * the context's: the request's API key, or the actor background work runs as (RunsAs).
   */
  actor?: string;
  /** Outside the handler's context (the guard), the request id is passed in. */
  requestId?: string;
}

const MAX_REMEMBERED_TARGETS = 1024;

/** What an audit line says in place of a target shaped like a credential. */
export const WITHHELD = '(withheld: shaped like a credential)';

@Injectable()
export class AuditService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /**
   * The current request turned out to perform `action`, one of its route's (PUT /factory/entries:
   * create or update): a failure from here on is audited under it, not under the route's @Audit.
   */
  performs(action: AuditAction): void {
    const ctx = requestContext.get();
    if (ctx) ctx.auditAction = action;
  }

  /** Appends one line; pass the transaction's manager so the line lands with the change it records. */
  async record(m: EntityManager, r: AuditRecord): Promise<void> {
    await this.insertLine(m, this.line(r));
  }

  /** Appends a line built earlier (AuditService.line), in the caller's transaction. */
  async insertLine(m: EntityManager, line: AuditLine): Promise<void> {
    await m.insert(AuditEntry, line);
  }

  /**
   * The line for `r`, with the caller and request id of the current request captured now. The line
   * is kept for ever and auditors read it: a target or request id shaped like a credential is
   * withheld, wherever it came from.
   */
  line(r: AuditRecord): AuditLine {
    const ctx = requestContext.get();
    const requestId = r.requestId ?? ctx?.requestId ?? null;
    return {
      at: this.clock.now(),
      actor: r.actor ?? ctx?.actor ?? actorName(ctx?.principal),
      action: r.action,
      target: r.target && this.credentialShaped(r.target) ? WITHHELD : (r.target ?? null),
      result: r.result ?? 'success',
      code: r.code ?? null,
      requestId: requestId && looksLikeCredential(requestId) ? null : requestId,
      detail: r.detail ? JSON.stringify(r.detail) : null,
    };
  }

  /**
   * looksLikeCredential(target), remembered for the targets seen last (a mint's is `site:<name>`,
   * the same for every token of a site): the scan was a few percent of a mint. Bounded: the memory
   * is dropped whole when it fills.
   */
  private credentialShaped(target: string): boolean {
    let shaped = this.shapes.get(target);
    if (shaped === undefined) {
      if (this.shapes.size >= MAX_REMEMBERED_TARGETS) this.shapes.clear();
      shaped = looksLikeCredential(target);
      this.shapes.set(target, shaped);
    }
    return shaped;
  }

  private readonly shapes = new Map<string, boolean>();

  /** Appends one line in its own transaction (failures and denials, whose change was rolled back). */
  recordAlone(r: AuditRecord): Promise<void> {
    return this.db.tx((m) => this.record(m, r));
  }
}
