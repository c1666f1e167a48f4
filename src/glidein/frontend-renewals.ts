import { EntityManager } from 'typeorm';
import { GlideinRenewal } from './renewal.entity.js';

/** Deletes the renewal credentials of `frontend`'s glideins (in the caller's transaction): they renew no more. */
export async function forgetFrontendRenewals(m: EntityManager, frontend: string): Promise<number> {
  return (await m.delete(GlideinRenewal, { frontend })).affected ?? 0;
}
