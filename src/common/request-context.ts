import { AsyncLocalStorage } from 'node:async_hooks';
import type { Principal } from '../auth/principal.js';

export interface RequestContext {
  requestId: string;
  principal?: Principal;
  /**
   * The audit action a handler found it performs, once it knows (PUT /factory/entries/{entry}:
   * create or update); a failure after that is audited under it rather than under the route's.
   */
  auditAction?: string;
  /** The stable code of the error the request was answered with, for its log line. */
  errorCode?: string;
  /** The request failed unexpectedly (a bare 500): its line is an error; expected refusals are not. */
  unexpected?: boolean;
}

const storage = new AsyncLocalStorage<RequestContext>();

/**
 * Per-request state (request id, authenticated caller) without threading it through every call.
 * The HTTP layer creates it when a request arrives and the guard fills in the caller; the
 * handler and everything it starts run inside it (RequestContextInterceptor).
 */
export const requestContext = {
  run<T>(ctx: RequestContext, fn: () => T): T {
    return storage.run(ctx, fn);
  },
  get(): RequestContext | undefined {
    return storage.getStore();
  },
};

/** Where the HTTP layer keeps a request's context on the Fastify request. */
export interface WithContext {
  glidekey?: RequestContext;
}
