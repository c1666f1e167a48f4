import type { AuditAction } from './audit-actions.js';
import { AuditEntry } from './audit-entry.entity.js';

/** The audit_log columns a bulk insert writes (the id is the database's), and one line's values in their order. */
export const AUDIT_COLUMNS = ['at', 'actor', 'action', 'target', 'result', 'code', 'request_id', 'detail'] as const;
/** One audit line as written (the id is the database's): what writers outside audit/ build and hand in. */
export type AuditLine = Omit<AuditEntry, 'id' | 'action'> & { action: AuditAction };

export const auditRow = (a: AuditLine) => [a.at, a.actor, a.action, a.target, a.result, a.code, a.requestId, a.detail];
