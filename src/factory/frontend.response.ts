import { publicKeyFingerprint } from '../identity/identity.service.js';
import { localUserOf, RegisteredFrontend } from './registered-frontend.entity.js';

/** A registered frontend as the API shows it: never its API key. */
export const frontendResponse = (f: RegisteredFrontend) => ({
  name: f.name,
  publicKey: f.publicKey,
  fingerprint: publicKeyFingerprint(Buffer.from(f.publicKey, 'base64')),
  apiKeyId: f.apiKeyId,
  localUser: localUserOf(f),
  createdAt: new Date(f.createdAt).toISOString(),
});

/** A frontend registered, or its API key rotated: the one response that carries the new key. */
export const frontendWithApiKeyResponse = (f: RegisteredFrontend, apiKey: string) => ({ ...frontendResponse(f), apiKey });
