import { exportJWK, JWTPayload, SignJWT } from 'jose';
import sodium from 'libsodium-wrappers';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { Principal } from '../../src/auth/principal.js';
import { CredentialIntakeService } from '../../src/factory/credential-intake.service.js';
import { FrontendsService } from '../../src/factory/frontends.service.js';
import { EnvelopeCredential, sealEnvelope } from '../../src/protocol/envelope.js';
import { IdentityService } from '../../src/identity/identity.service.js';
import type { client } from './service.js';
import type { ServiceTier } from './service-tier.js';

/**
 * Fixtures several test files need, in one version each: the VO's SciToken issuer, a process
 * registered as its own factory, and (service tier) a frontend registered at a factory and a
 * credential delivered to its cache through the real intake.
 */

type Api = ReturnType<typeof client>;

export const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

/** A VO's SciToken issuer: an RSA key whose public half the frontend trusts (PUT /scitoken-issuers/<id>), signing RS256 tokens. */
export class VoIssuer {
  readonly rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

  constructor(
    readonly issuer = 'https://vo-issuer.example.org',
    readonly kid = 'k1',
  ) {}

  /** The issuer's JWKS, as a frontend admin registers it. */
  async jwks(kid = this.kid) {
    return { keys: [{ ...(await exportJWK(this.rsa.publicKey)), kid, alg: 'RS256' }] };
  }

  /** Registers the issuer with a frontend under `id` (201 when new). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async register(api: Api, id = 'vo'): Promise<{ status: number; json: any }> {
    return api.put(`/scitoken-issuers/${id}`, { issuer: this.issuer, jwks: await this.jwks() });
  }

  /** A token from this issuer with exactly these claims (iss defaults to the issuer). */
  sign(claims: JWTPayload, kid = this.kid): Promise<string> {
    return new SignJWT({ iss: this.issuer, ...claims }).setProtectedHeader({ alg: 'RS256', kid }).sign(this.rsa.privateKey);
  }
}

/**
 * One process with both roles registered as its own factory, as a two-host setup would be: the
 * factory side registers the frontend (and gives it an API key), the frontend registers the factory.
 */
export async function selfRegistered(admin: Api, url: string, factoryName = 'self') {
  const fe = (await admin.get('/frontend/identity')).json;
  const reg = await admin.post('/factory/frontends', { name: fe.name, publicKey: fe.publicKey });
  expect(reg.status).toBe(201);
  const fa = (await admin.get('/factory/identity')).json;
  expect((await admin.post('/factories', { name: factoryName, url, apiKey: reg.json.apiKey, publicKey: fa.publicKey })).status).toBe(201);
  return { admin, frontendApiKey: reg.json.apiKey as string, frontendName: fe.name as string };
}

/** Service tier: a frontend (its own box key pair) registered at the tier's factory, with the caller its API key authenticates as. */
export interface FrontendAtFactory {
  name: string;
  keys: { publicKey: Uint8Array; privateKey: Uint8Array };
  caller: Principal;
}

export async function frontendAtFactory(t: ServiceTier, name: string): Promise<FrontendAtFactory> {
  await sodium.ready;
  const keys = sodium.crypto_box_keypair();
  const reg = await t.get(FrontendsService).register(await t.admin(), { name, publicKey: b64(keys.publicKey) });
  return { name, keys, caller: await t.principal(reg.apiKey) };
}

/** Service tier: delivers one credential to the factory cache the way a frontend does, a sealed envelope through the real intake. */
export async function cacheCredential(t: ServiceTier, fe: FrontendAtFactory, cred: EnvelopeCredential): Promise<void> {
  const factoryKey = Buffer.from((await t.get(IdentityService).publicIdentity('factory')).publicKey, 'base64');
  const env = await sealEnvelope({ v: 1, frontend: fe.name, id: randomUUID(), createdAt: t.clock.now(), credentials: [cred] }, fe.keys, factoryKey);
  const res = await t.get(CredentialIntakeService).receive(fe.caller, env);
  expect(res.results.map((r) => r.result)).toEqual(['stored']);
}
