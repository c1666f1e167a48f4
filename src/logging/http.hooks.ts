import type { FastifyInstance, FastifyRequest } from 'fastify';
// eslint-disable-next-line no-restricted-syntax -- Fastify's genReqId, set up before the Nest container (and its Random) exists
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type pino from 'pino';
import type { WithContext } from '../common/request-context.js';
import { looksLikeCredential } from '../common/secret-shape.js';
import type { LoggingMetrics } from './logging.metrics.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * The caller's X-Request-Id when it is short, of a safe charset and not shaped like a credential
 * (it is echoed, logged and kept in the append-only audit); else a fresh one, and the caller's is
 * neither echoed nor kept.
 */
export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) && !looksLikeCredential(incoming) ? incoming : randomUUID();
}

/** The route pattern a request matched (never its values), for logs and metric labels. */
export const routeOf = (req: FastifyRequest) => (req.routeOptions?.url as string | undefined) ?? 'unmatched';

/**
 * Gives each request its context and echoes its id, and on completion logs one line and observes
 * the latency. Nothing the caller put in the URL or the body reaches the log.
 */
export function installHttpHooks(fastify: FastifyInstance, log: pino.Logger, metrics: LoggingMetrics): void {
  // The request line's fields (below) are fixed, flat and none of the redacted names, so redaction
  // never changes it, yet pino's redaction pass cost three quarters of writing it (about 18 of
  // 25 us a line). It goes through a child without that pass: the same destination, base fields,
  // time and level format, so the same line. Whether it is written is decided by `log`'s level (the
  // one SIGHUP changes); the child's own level lets everything through.
  const requestLog = log.child({}, { level: 'trace', redact: { paths: [] } });
  fastify.decorateRequest('glidekey', undefined);
  fastify.addHook('onRequest', (req, reply, done) => {
    (req as FastifyRequest & WithContext).glidekey = { requestId: req.id };
    void reply.header('x-request-id', req.id);
    // Some responses carry a secret (a minted token, a key file, a new API key): no cache may keep any.
    void reply.header('cache-control', 'no-store');
    done();
  });
  fastify.addHook('onResponse', (req, reply, done) => {
    const route = routeOf(req);
    const seconds = reply.elapsedTime / 1000;
    metrics.httpDuration.observe({ method: req.method, route, status: String(reply.statusCode) }, seconds);
    const ctx = (req as FastifyRequest & WithContext).glidekey;
    // An unexpected failure is an error; a 5xx refusal the service meant (503 CREDENTIAL_STALE,
    // STORAGE_UNAVAILABLE, 502 from a factory) a warning; everything else, 4xx included, info.
    const level = reply.statusCode >= 500 ? (ctx?.unexpected === false ? 'warn' : 'error') : 'info';
    if (log.isLevelEnabled(level)) {
      requestLog[level](
        {
          requestId: req.id,
          method: req.method,
          route,
          status: reply.statusCode,
          code: ctx?.errorCode,
          ms: Math.round(reply.elapsedTime * 10) / 10,
          client: req.socket.remoteAddress,
          actor: ctx?.principal?.name,
        },
        'request',
      );
    }
    done();
  });
}
