import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import { AuditFailuresInterceptor } from '../audit/audit-failures.interceptor.js';
import { PacingInterceptor } from './read-pacer.js';
import { RequestContextInterceptor } from './request-context.interceptor.js';

/**
 * The global interceptors as one: the request context wraps the audit of failures, which wraps
 * the pacing of reads, which wraps the handler, exactly as when Nest chained them. Each
 * interceptor Nest chains costs a deferred Observable, an AsyncResource and a mergeAll per
 * request; composed here, the three cost one.
 */
@Injectable()
export class RequestPipelineInterceptor implements NestInterceptor {
  constructor(
    private readonly context: RequestContextInterceptor,
    private readonly auditFailures: AuditFailuresInterceptor,
    private readonly pacing: PacingInterceptor,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const paced: CallHandler = { handle: () => this.pacing.intercept(ctx, next) };
    const audited: CallHandler = { handle: () => this.auditFailures.intercept(ctx, paced) };
    return this.context.intercept(ctx, audited);
  }
}
