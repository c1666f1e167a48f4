import { AsyncLocalStorage } from 'node:async_hooks';
import type { Principal } from '../auth/principal.js';

/**
 * Who background work acts as, in its audit lines: `system` and `system:<job>`. A job names it once,
 * where it starts (RunsAs); what it calls reads it from the context like a request's API key.
 */
export type SystemActor = 'system' | `system:${'scheduler' | 'forwarding' | 'renewal' | 'collector-reload' | 'config'}`;

export interface RequestContext {
  /** The request's id; background work keeps that of the request that set it off, if any. */
  requestId?: string;
  principal?: Principal;
  /** Background work: the actor it runs as (no principal then). */
  actor?: SystemActor;
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
  /**
   * Runs `fn` as background work of `actor`: in a context of its own, without the caller's
   * principal, keeping the request id of the request (if any) that set it off.
   */
  runAs<T>(actor: SystemActor, fn: () => T, requestId = storage.getStore()?.requestId): T {
    return storage.run({ requestId, actor }, fn);
  },
};

/**
 * Marks a method as where background work starts: every call runs inside requestContext.runAs(actor),
 * so the audit lines it writes (and those of what it calls) name `actor`.
 */
export function RunsAs(actor: SystemActor): MethodDecorator {
  return (_target, _key, descriptor: PropertyDescriptor) => {
    const method = descriptor.value as (...args: unknown[]) => unknown;
    descriptor.value = function (this: unknown, ...args: unknown[]) {
      return requestContext.runAs(actor, () => method.apply(this, args));
    };
  };
}

/** Where the HTTP layer keeps a request's context on the Fastify request. */
export interface WithContext {
  glidekey?: RequestContext;
}
