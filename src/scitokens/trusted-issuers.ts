import { EntityManager } from 'typeorm';
import { SciTokenIssuer } from './scitoken-issuer.entity.js';

/** The `iss` values of the trusted issuers: a stored SciToken of any other issuer is never forwarded. */
export async function trustedIssuers(m: EntityManager): Promise<Set<string>> {
  return new Set((await m.find(SciTokenIssuer, { select: { issuer: true } })).map((i) => i.issuer));
}
