import { iso } from '../common/time.js';
import type { GlideinRenewal } from './renewal.entity.js';

/** A glidein's renewal as admins see it: never a secret or a hash. */
export const renewalResponse = (r: GlideinRenewal) => ({
  id: r.id,
  bootstrap: r.bootstrap,
  ticket: r.bootstrap === 'token' ? null : r.ticketId,
  batch: r.batchId,
  frontend: r.frontend,
  entry: r.entry,
  renewals: r.generation,
  createdAt: iso(r.createdAt),
  expiresAt: iso(r.expiresAt),
  renewedAt: iso(r.renewedAt),
  renewedBy: r.renewedBy,
  revokedAt: iso(r.revokedAt),
});
