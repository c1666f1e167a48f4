import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { RenewalAuth, TicketAuth } from '../auth/access.decorator.js';
import { DomainError } from '../common/errors.js';
import { PLAIN_NAME } from '../common/names.js';
import { GlideinService } from './glidein.service.js';
import { RenewalService } from './renewal.service.js';

const bearer = (req: FastifyRequest) => req.headers.authorization!.slice('Bearer '.length);

/**
 * The `entry` of the token bootstrap's body; a ticket bootstrap's body is ignored, as before (a
 * malformed member there must not turn a glidein's valid ticket into a 400).
 */
function entryOf(bearerValue: string, body: unknown): string | undefined {
  if (bearerValue.startsWith('gkt_')) return undefined;
  const entry = body && typeof body === 'object' ? (body as { entry?: unknown }).entry : undefined;
  if (entry === undefined) return undefined;
  if (typeof entry !== 'string' || !PLAIN_NAME.test(entry)) throw new DomainError('VALIDATION_FAILED', 'entry must be an entry name', 'entry');
  return entry;
}

@ApiTags('glidein')
@ApiBearerAuth()
@Controller('glidein')
export class GlideinController {
  constructor(
    private readonly glidein: GlideinService,
    private readonly renewals: RenewalService,
  ) {}

  /**
   * The glidein's bootstrap fetch: `Authorization: Bearer <ticket>` buys its entry's current IDTOKEN
   * once, and a renewal credential. For an entry with glideinBootstrap 'token', the bearer may
   * instead be the IDTOKEN the factory shipped, with body `{"entry": "<entry name>"}`.
   */
  @Post('credentials')
  @HttpCode(200)
  @TicketAuth()
  fetch(@Req() req: FastifyRequest) {
    return this.glidein.fetch(bearer(req), req.ip, entryOf(bearer(req), req.body));
  }

  /** A running glidein's renewal: `Authorization: Bearer <renewal credential>` buys the entry's current credentials and the next renewal credential. */
  @Post('credentials/renew')
  @HttpCode(200)
  @RenewalAuth()
  renew(@Req() req: FastifyRequest) {
    return this.renewals.renew(bearer(req), req.ip);
  }
}
