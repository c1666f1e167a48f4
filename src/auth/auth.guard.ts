import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { type AuditAction, httpAction } from '../audit/audit-actions.js';
import { AuditService } from '../audit/audit.service.js';
import { DomainError } from '../common/errors.js';
import type { WithContext } from '../common/request-context.js';
import { routeOf } from '../logging/http.hooks.js';
import { Settings } from '../config/settings.js';
import { AUDIT_KEY, type BearerKind, PUBLIC_KEY, PUBLIC_WHEN_KEY, ROLES_KEY, TICKET_KEY } from './access.decorator.js';
import { ApiKeysService } from './api-keys.service.js';
import { AuthMetrics } from './auth.metrics.js';
import { bearerOf, MAX_GLIDEIN_BEARER } from './api-key.secret.js';
import { actorName, type ApiRole } from './principal.js';
import { TICKET_REFUSED } from './ticket.secret.js';
import { RENEWAL_REFUSED } from './renewal.secret.js';

/** The single global guard: a route is public only by @Public(); every other route names its roles. */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly log = new Logger('auth');

  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeysService,
    private readonly settings: Settings,
    private readonly audit: AuditService,
    private readonly metrics: AuthMetrics,
  ) {}

  /**
   * Each route's access annotations, read once: they are fixed when the module is compiled, and
   * reading them through the reflector (eight metadata look-ups) on every request was pure cost.
   */
  private readonly access = new WeakMap<object, { cls: object; access: RouteAccess }>();

  private accessOf(ctx: ExecutionContext): RouteAccess {
    const handler = ctx.getHandler();
    const cls = ctx.getClass();
    const hit = this.access.get(handler);
    if (hit && hit.cls === cls) return hit.access;
    const targets = [handler, cls];
    const access: RouteAccess = {
      isPublic: !!this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets),
      publicWhen: this.reflector.getAllAndOverride<string>(PUBLIC_WHEN_KEY, targets),
      glidein: this.reflector.getAllAndOverride<BearerKind | undefined>(TICKET_KEY, targets),
      roles: this.reflector.getAllAndOverride<ApiRole[] | undefined>(ROLES_KEY, targets),
      audit: this.reflector.getAllAndOverride<AuditAction | undefined>(AUDIT_KEY, targets),
    };
    this.access.set(handler, { cls, access });
    return access;
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const { isPublic, publicWhen, glidein, roles, audit } = this.accessOf(ctx);
    if (isPublic) return true;
    if (publicWhen === 'metrics.public' && this.settings.config.metrics.public) return true;

    const req = ctx.switchToHttp().getRequest<FastifyRequest & WithContext>();
    // Node keeps only the first of repeated Authorization headers; a proxy may keep the last. Two
    // parties reading different credentials from one request is how smuggling starts: refuse it.
    if (authorizationCount(req) > 1) {
      this.metrics.authFailures.inc({ reason: 'invalid' });
      throw new DomainError('DUPLICATE_AUTHORIZATION', 'send exactly one Authorization header');
    }
    if (glidein) {
      // The ticket or renewal credential itself is checked (and spent) by the route's service; no bearer, no entry.
      if (bearerOf(req.headers.authorization, MAX_GLIDEIN_BEARER)) return true;
      this.metrics.authFailures.inc({ reason: 'missing' });
      throw glidein === 'renewal' ? new DomainError('RENEWAL_INVALID', RENEWAL_REFUSED) : new DomainError('TICKET_INVALID', TICKET_REFUSED);
    }
    if (!roles?.length) {
      // A route without an access annotation is a bug; it stays closed.
      this.log.error(`route ${req.method} ${routeOf(req)} has no @Roles, @Public, @TicketAuth or @RenewalAuth annotation; denying`);
      throw new DomainError('FORBIDDEN', 'this route is not open to any role');
    }
    const bearer = bearerOf(req.headers.authorization);
    const principal = bearer ? await this.keys.authenticate(bearer) : undefined;
    if (!principal) {
      this.metrics.authFailures.inc({ reason: bearer ? 'invalid' : 'missing' });
      throw new DomainError('UNAUTHENTICATED', bearer ? 'invalid or revoked credential' : 'missing bearer credential');
    }
    if (req.glidekey) req.glidekey.principal = principal;
    if (!principal.roles.some((r) => roles.includes(r))) {
      this.metrics.authFailures.inc({ reason: 'role' });
      await this.audit.recordAlone({
        action: audit ?? httpAction(req.method),
        target: routeOf(req),
        result: 'denied',
        code: 'FORBIDDEN',
        actor: actorName(principal),
        requestId: req.id,
      });
      throw new DomainError('FORBIDDEN', `this route needs one of the roles: ${roles.join(', ')}`);
    }
    return true;
  }
}

interface RouteAccess {
  isPublic: boolean;
  publicWhen: string | undefined;
  glidein: BearerKind | undefined;
  roles: ApiRole[] | undefined;
  audit: AuditAction | undefined;
}

/** How many Authorization headers the client sent (req.headers keeps only the first). */
function authorizationCount(req: FastifyRequest): number {
  const raw = req.raw.rawHeaders;
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === 'authorization') n++;
  return n;
}
