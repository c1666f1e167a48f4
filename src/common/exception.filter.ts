import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isUniqueViolation } from '../database/unique-violation.js';
import { routeOf } from '../logging/http.hooks.js';
import { asStorageError } from '../database/storage-errors.js';
import { DomainError, ErrorCode, RetryLaterError, StorageUnavailableError } from './errors.js';
import type { WithContext } from './request-context.js';

const HTTP_CODES: Record<number, ErrorCode> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
};

/** Fastify's own request errors (content parsing), by their code. */
const FASTIFY_CODES: Record<string, { code: ErrorCode; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', message: 'request body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'send JSON with Content-Type: application/json' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'MALFORMED_JSON', message: 'request body is empty but declared as JSON' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'MALFORMED_JSON', message: 'request body is not valid JSON' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'VALIDATION_FAILED', message: 'Content-Length does not match the body' },
  FST_ERR_BAD_URL: { code: 'VALIDATION_FAILED', message: 'malformed URL' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'URI_TOO_LONG', message: 'a path parameter is too long' },
};

interface Described {
  status: number;
  code: ErrorCode;
  message: string;
  field?: string;
}

/** Maps every error to `{ error: { code, message } }`; anything unexpected becomes a bare 500. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly log = new Logger('http');

  catch(thrown: unknown, host: ArgumentsHost): void {
    // A storage failure that did not pass through Db (a key file on a full disk): 503 too, never 500.
    const err = asStorageError(thrown);
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const req = host.switchToHttp().getRequest<FastifyRequest>();
    const { status, code, message, field } = describe(err);
    // Expected refusals (every DomainError: 4xx, and 503 CREDENTIAL_STALE while a glidein retries)
    // show only in the request's own line, with their code. A storage failure and anything
    // unexpected also get an error line with the cause (a stack, for the unexpected).
    const ctx = (req as FastifyRequest & WithContext).glidekey;
    if (ctx) {
      ctx.errorCode = code;
      ctx.unexpected = !(err instanceof DomainError);
    }
    if (err instanceof StorageUnavailableError) this.log.error({ requestId: req.id, reason: err.reason }, `storage failure on ${req.method} ${routeOf(req)}`);
    else if (!(err instanceof DomainError) && status >= 500) this.log.error({ requestId: req.id, err }, `unhandled error on ${req.method} ${routeOf(req)}`);
    if (reply.sent) return;
    if (err instanceof RetryLaterError) void reply.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfterSeconds))));
    void reply
      .status(status)
      .header('content-type', 'application/json; charset=utf-8')
      .send({ error: field ? { code, message, field } : { code, message } });
  }
}

export function describe(err: unknown): Described {
  if (err instanceof DomainError) return { status: err.status, code: err.code, message: err.message, field: err.field };
  // A create that lost a race the service did not name a conflict for: still a conflict, never a 500.
  if (isUniqueViolation(err)) return { status: 409, code: 'CONFLICT', message: 'a concurrent request created the same thing first' };
  // Nest hands Fastify's parsing errors over as HttpExceptions with the original as cause.
  const cause = (err instanceof HttpException && err.cause ? err.cause : err) as { code?: string; statusCode?: number };
  if (cause instanceof DomainError) return { status: cause.status, code: cause.code, message: cause.message, field: cause.field };
  if (cause instanceof SyntaxError && cause.statusCode === 400) return { status: 400, code: 'MALFORMED_JSON', message: 'request body is not valid JSON' };
  if (cause instanceof JsonTooDeepError) return { status: 400, code: 'JSON_TOO_DEEP', message: cause.message };
  if (cause instanceof NotJsonObjectError) return { status: 400, code: 'MALFORMED_JSON', message: cause.message };
  const fastify = typeof cause?.code === 'string' ? FASTIFY_CODES[cause.code] : undefined;
  if (fastify) return { status: cause.statusCode ?? 400, ...fastify };
  if (cause instanceof URIError) return { status: 400, code: 'VALIDATION_FAILED', message: 'malformed URL encoding' };
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const code = HTTP_CODES[status] ?? (status >= 500 ? 'INTERNAL' : 'VALIDATION_FAILED');
    const message = status === 404 ? 'no such route' : status >= 500 ? 'internal error' : err.message;
    return { status, code, message };
  }
  return { status: 500, code: 'INTERNAL', message: 'internal error' };
}

/**
 * Fastify's router errors (bad URL encoding, over-long parameters) happen before Nest sees the
 * request; answered here in the same shape, without echoing the URL (it may hold a secret).
 */
export function frameworkErrorReply(err: unknown, reply: FastifyReply): void {
  const { status, code, message } = describe(err);
  void reply.status(status).header('content-type', 'application/json; charset=utf-8').send({ error: { code, message } });
}

/** A JSON body that is valid JSON but not an object or array. */
export class NotJsonObjectError extends Error {
  readonly statusCode = 400;
}

/** A JSON body nested deeper than MAX_JSON_DEPTH: refused before it is parsed. */
export class JsonTooDeepError extends Error {
  readonly statusCode = 400;
}
