import { iso } from '../common/time.js';
import type { Delivery } from './delivery.entity.js';

/** An outbox row as the API shows it: never the credential. */
export const deliveryResponse = (d: Delivery) => ({
  id: d.id,
  factory: d.factory,
  entry: d.entry,
  type: d.type,
  /** credential, or withdrawal (of what the entry was last given; `reason` says why). */
  kind: d.kind,
  reason: d.reason,
  source: d.source,
  version: d.version,
  state: d.state,
  attempts: d.attempts,
  lastError: d.lastError,
  nextAttemptAt: d.state === 'pending' ? iso(d.nextAttemptAt) : null,
  expiresAt: iso(d.expiresAt),
  createdAt: iso(d.createdAt),
  deliveredAt: iso(d.deliveredAt),
});
