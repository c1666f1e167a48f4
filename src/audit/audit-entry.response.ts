import type { AuditEntry } from './audit-entry.entity.js';

/** An audit line as the API shows it. */
export const auditEntryResponse = (e: AuditEntry) => ({
  id: e.id,
  at: new Date(e.at).toISOString(),
  actor: e.actor,
  action: e.action,
  target: e.target,
  result: e.result,
  code: e.code,
  requestId: e.requestId,
  detail: e.detail ? (JSON.parse(e.detail) as unknown) : null,
});
