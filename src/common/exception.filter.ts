import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DomainError, ErrorCode } from './errors.js';
import { requestContext } from './request-context.js';

interface BodyParserError {
  type?: string;
  status?: number;
}

const HTTP_CODES: Record<number, ErrorCode> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
};

/** Maps every error to `{ error: { code, message } }`; anything unexpected becomes a bare 500. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly log = new Logger('http');

  catch(err: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request>();
    const { status, code, message, field } = this.describe(err, req);
    if (status >= 500) {
      this.log.error({ requestId: requestContext.requestId(), err }, `unhandled error on ${req.method} ${req.route?.path ?? 'unmatched route'}`);
    }
    if (res.headersSent) return;
    res.status(status).json({ error: field ? { code, message, field } : { code, message } });
  }

  private describe(err: unknown, req: Request): { status: number; code: ErrorCode; message: string; field?: string } {
    if (err instanceof DomainError) return { status: err.status, code: err.code, message: err.message, field: err.field };
    // Nest hands body-parser and URL-decoding failures over as HttpExceptions with the original as cause.
    const bp = (err instanceof HttpException && err.cause ? err.cause : err) as BodyParserError;
    if (bp instanceof URIError) return { status: 400, code: 'VALIDATION_FAILED', message: 'malformed URL encoding' };
    if (bp && typeof bp === 'object' && typeof bp.type === 'string' && bp.type.startsWith('entity.')) {
      if (bp.type === 'entity.parse.failed') return { status: 400, code: 'MALFORMED_JSON', message: 'request body is not valid JSON' };
      if (bp.type === 'entity.too.large') return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'request body is too large' };
      return { status: 400, code: 'VALIDATION_FAILED', message: 'request body could not be read' };
    }
    if (err instanceof HttpException) {
      const status = err.getStatus();
      const code = HTTP_CODES[status] ?? (status >= 500 ? 'INTERNAL' : 'VALIDATION_FAILED');
      const message = status === 404 ? 'no such route' : status >= 500 ? 'internal error' : err.message;
      return { status, code, message };
    }
    return { status: 500, code: 'INTERNAL', message: 'internal error' };
  }
}
