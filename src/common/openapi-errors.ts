import type { OpenAPIObject } from '@nestjs/swagger';
import { ERROR_STATUS } from './errors.js';

/** The bearer secrets glidekey takes, as they look (the id part is what logs and the audit show). */
export const BEARER_FORMAT =
  'gk_<16 hex id>_<43 base64url> (API key); on /glidein routes gkt_<16 hex>_<43 base64url> (ticket), gkr_<16 hex>_<43 base64url> (renewal credential), or on POST /glidein/credentials for an entry with glideinBootstrap token the factory-shipped IDTOKEN (a compact JWT)';

const ERROR_BODY = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: Object.keys(ERROR_STATUS), description: 'stable; the HTTP status follows from it' },
        message: { type: 'string', description: 'for people; never holds a secret' },
        field: { type: 'string', description: 'the request field at fault, for bad input' },
      },
    },
  },
};

/**
 * Every operation answers errors in one shape, `{ "error": { "code", "message", "field"? } }`:
 * the document says so for each route (4XX and 5XX), beside what the controllers declared.
 */
export function documentErrors(doc: OpenAPIObject): OpenAPIObject {
  doc.components = { ...doc.components, schemas: { ...doc.components?.schemas, ErrorBody: ERROR_BODY as never } };
  const ref = { $ref: '#/components/schemas/ErrorBody' };
  for (const item of Object.values(doc.paths)) {
    for (const method of ['get', 'put', 'post', 'patch', 'delete'] as const) {
      const op = item[method];
      if (!op) continue;
      for (const [range, description] of [
        ['4XX', 'refused: bad input, no or wrong credentials, not found, conflict, rate limited'],
        ['5XX', 'not done: storage unavailable, a factory unreachable, a stale credential (with Retry-After), or an internal error'],
      ]) {
        op.responses[range] ??= { description, content: { 'application/json': { schema: ref } } };
      }
    }
  }
  return doc;
}
