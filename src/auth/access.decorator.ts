import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { ApiRole, Principal } from './principal.js';
import type { WithContext } from '../common/request-context.js';
import type { AuditAction } from '../audit/audit-actions.js';

export const ROLES_KEY = 'glidekey:roles';
export const PUBLIC_KEY = 'glidekey:public';
export const PUBLIC_WHEN_KEY = 'glidekey:public-when';
export const AUDIT_KEY = 'glidekey:audit';
export const TICKET_KEY = 'glidekey:ticket';

/** The roles that may call a route. Every route carries this or @Public(): the guard denies the rest. */
export const Roles = (...roles: ApiRole[]) => SetMetadata(ROLES_KEY, roles);

/** A route anyone may call. */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

/**
 * A route authenticated by a single-use glidein ticket, not an API key: the guard lets through only
 * requests that carry a bearer, and the handler's service checks and consumes the ticket itself
 * (uniform refusals, rate limiting of failures). API keys are refused there like any bad ticket.
 */
export const TicketAuth = () => SetMetadata(TICKET_KEY, 'ticket' satisfies BearerKind);

/** Like @TicketAuth(), for a glidein's renewal credential: the route's service checks and rotates it itself. */
export const RenewalAuth = () => SetMetadata(TICKET_KEY, 'renewal' satisfies BearerKind);

/** What a glidein route takes instead of an API key. */
export type BearerKind = 'ticket' | 'renewal';

/** Public only while the named boolean setting is true (e.g. metrics.public); otherwise @Roles applies. */
export const PublicWhen = (setting: 'metrics.public') => SetMetadata(PUBLIC_WHEN_KEY, setting);

/** The audit action a mutating route performs; its failures are audited under this name. */
export const Audit = (action: AuditAction) => SetMetadata(AUDIT_KEY, action);

/** The authenticated caller of this request. */
export const Auth = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Principal | undefined => ctx.switchToHttp().getRequest<WithContext>().glidekey?.principal,
);
