import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { actorName } from '../auth/principal.js';
import { Clock } from '../common/clock.js';
import { requestContext } from '../common/request-context.js';
import { Db } from '../database/db.js';
import { AuditEntry } from './audit-entry.entity.js';

export interface AuditRecord {
  action: string;
  target?: string | null;
  result?: AuditEntry['result'];
  code?: string | null;
  /** Non-secret facts only: names, versions, counts, times. */
  detail?: Record<string, unknown>;
  actor?: string;
}

@Injectable()
export class AuditService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /** Appends one line; pass the transaction's manager so the line lands with the change it records. */
  async record(m: EntityManager, r: AuditRecord): Promise<void> {
    const ctx = requestContext.get();
    await m.insert(AuditEntry, {
      at: this.clock.now(),
      actor: r.actor ?? actorName(ctx?.principal),
      action: r.action,
      target: r.target ?? null,
      result: r.result ?? 'success',
      code: r.code ?? null,
      requestId: ctx?.requestId ?? null,
      detail: r.detail ? JSON.stringify(r.detail) : null,
    });
  }

  /** Appends one line in its own transaction (failures and denials, whose change was rolled back). */
  recordAlone(r: AuditRecord): Promise<void> {
    return this.db.tx((m) => this.record(m, r));
  }
}
