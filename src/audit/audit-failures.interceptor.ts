import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { catchError, from, Observable, switchMap, throwError } from 'rxjs';
import { AUDIT_KEY } from '../auth/access.decorator.js';
import { DomainError } from '../common/errors.js';
import { AuditService } from './audit.service.js';

/** Records refused changes: a mutating route that fails is audited with the error code. */
@Injectable()
export class AuditFailuresInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const action = this.reflector.get<string | undefined>(AUDIT_KEY, ctx.getHandler());
    if (!action) return next.handle();
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const params = (req.params ?? {}) as Record<string, string>;
    const target = Object.entries(params).map(([k, v]) => `${k}:${String(v).slice(0, 128)}`).join(' ') || null;
    return next.handle().pipe(
      catchError((err: unknown) =>
        from(
          this.audit.recordAlone({
            action,
            target,
            result: 'failure',
            code: err instanceof DomainError ? err.code : 'INTERNAL',
          }),
        ).pipe(switchMap(() => throwError(() => err))),
      ),
    );
  }
}
