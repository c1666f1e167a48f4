import { EntityManager, IsNull } from 'typeorm';
import { Ticket } from './ticket.entity.js';

/** Deletes every ticket issued for `frontend` (in the caller's transaction): an unused one then reads as unknown. Returns how many were unused. */
export async function forgetFrontendTickets(m: EntityManager, frontend: string): Promise<{ deleted: number; unused: number }> {
  const unused = await m.countBy(Ticket, { frontend, consumedAt: IsNull() });
  const deleted = (await m.delete(Ticket, { frontend })).affected ?? 0;
  return { deleted, unused };
}
