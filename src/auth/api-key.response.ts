import type { ApiKey } from './api-key.entity.js';

/** An API key as the API shows it: never its secret or hash. */
export const apiKeyResponse = (k: ApiKey) => ({
  id: k.id,
  name: k.name,
  roles: k.roles.split(','),
  createdBy: k.createdBy,
  createdAt: new Date(k.createdAt).toISOString(),
  revokedAt: k.revokedAt === null ? null : new Date(k.revokedAt).toISOString(),
});

/** A key just created: the one response that carries its secret. */
export const createdApiKeyResponse = (k: ApiKey, secret: string) => ({ ...apiKeyResponse(k), apiKey: secret });
