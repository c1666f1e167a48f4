import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { catchError, from, Observable, switchMap, throwError } from 'rxjs';
import { AUDIT_KEY } from '../auth/access.decorator.js';
import { DomainError } from '../common/errors.js';
import { looksLikeCredential } from '../common/secret-shape.js';
import type { WithContext } from '../common/request-context.js';
import { asStorageError } from '../database/storage-errors.js';
import { type AuditAction, isAuditAction } from './audit-actions.js';
import { AuditService } from './audit.service.js';

/** A plain name (a site, an entry, a key name, a jti); anything else is not echoed. */
const PLAIN = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$/;

/**
 * The path parameters of a refused call, as far as they are plain names. A parameter is the
 * caller's raw input: someone may paste a secret there (an API key into .../revoke, a glidein ticket), and the
 * audit log is readable by auditors and cannot be edited, so such values are never recorded.
 */
export function auditTarget(params: Record<string, string>): string | null {
  const parts = Object.entries(params).map(([k, v]) => {
    const value = String(v);
    return `${k}:${PLAIN.test(value) && !looksLikeCredential(value) ? value : '(not recorded)'}`;
  });
  return parts.join(' ') || null;
}

/** Records refused changes: a mutating route that fails is audited with the error code. */
@Injectable()
export class AuditFailuresInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const routeAction = this.reflector.get<AuditAction | undefined>(AUDIT_KEY, ctx.getHandler());
    if (!routeAction) return next.handle();
    const req = ctx.switchToHttp().getRequest<FastifyRequest & WithContext>();
    return next.handle().pipe(
      catchError((thrown: unknown) => {
        const err = asStorageError(thrown);
        // The action the handler found it performs (AuditService.performs), else the route's.
        const performed = req.glidekey?.auditAction;
        return from(
          this.audit.recordAlone({
            action: performed !== undefined && isAuditAction(performed) ? performed : routeAction,
            // Worked out only for a failure (the credential-shape scan of each parameter is not free); the parameters are the request's own and do not change.
            target: auditTarget((req.params ?? {}) as Record<string, string>),
            result: 'failure',
            code: err instanceof DomainError ? err.code : 'INTERNAL',
          }),
        ).pipe(switchMap(() => throwError(() => err)));
      }),
    );
  }
}
