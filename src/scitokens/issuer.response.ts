import type { JSONWebKeySet } from 'jose';
import type { SciTokenIssuer } from './scitoken-issuer.entity.js';

/** A trusted issuer as the API shows it: its iss and its keys' ids, types and algorithms. */
export const issuerResponse = (i: SciTokenIssuer) => ({
  id: i.id,
  issuer: i.issuer,
  keys: (JSON.parse(i.jwks) as JSONWebKeySet).keys.map((k) => ({ kid: k.kid ?? null, kty: k.kty, alg: k.alg ?? null })),
  createdAt: new Date(i.createdAt).toISOString(),
  updatedAt: new Date(i.updatedAt).toISOString(),
});
