import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import { requestContext, WithContext } from './request-context.js';

/** Runs the handler, and all it starts, inside the request's context. Registered first, so it wraps the rest. */
@Injectable()
export class RequestContextInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const store = ctx.switchToHttp().getRequest<WithContext>().glidekey;
    if (!store) return next.handle();
    return new Observable((subscriber) => requestContext.run(store, () => next.handle().subscribe(subscriber)));
  }
}
