import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import type pino from 'pino';
import { requestContext } from '../common/request-context.js';
import type { MetricsService } from '../metrics/metrics.service.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Gives each request an id (the caller's X-Request-Id when it is sane), runs the rest of the
 * request inside that context, and on completion logs one line and observes the latency.
 * The logged path is the route pattern, so nothing the caller put in the URL reaches the log.
 */
export function httpMiddleware(log: pino.Logger, metrics: MetricsService) {
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    const start = process.hrtime.bigint();
    const ctx = { requestId } as Parameters<typeof requestContext.run>[0];
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = (req.route?.path as string | undefined) ?? 'unmatched';
      metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      const level = res.statusCode >= 500 ? 'error' : 'info';
      log[level](
        { requestId, method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1e4) / 10, actor: ctx.principal?.name },
        'request',
      );
    });
    requestContext.run(ctx, next);
  };
}
