import { EntityManager } from 'typeorm';
import { Ticket } from './ticket.entity.js';

/** A ticket row as the glidein's fetch reads it (a plain shape: the entity stays in tickets/). */
export interface TicketRecord {
  id: string;
  secretHash: string;
  batchId: string;
  frontend: string;
  entry: string;
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
  consumedBy: string | null;
  staleAuditedAt: number | null;
}

/** The tickets table as the glidein capability uses it; in the caller's read or transaction. */
export const ticketsStore = {
  /** Whether any ticket of this batch exists. */
  batchExists: (m: EntityManager, batch: string): Promise<boolean> => m.existsBy(Ticket, { batchId: batch }),
  /** Marks a ticket's refusal audited now, unless it was within `before`; true when this call marked it. */
  async markStaleAudited(m: EntityManager, id: string, now: number, before: number): Promise<boolean> {
    const r = await m
      .createQueryBuilder()
      .update(Ticket)
      .set({ staleAuditedAt: now })
      .where('id = :id AND (stale_audited_at IS NULL OR stale_audited_at <= :before)', { id, before })
      .execute();
    return !!r.affected;
  },
};
