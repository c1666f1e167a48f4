import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { RenewalAuth, TicketAuth } from '../auth/access.decorator.js';
import { GlideinService } from './glidein.service.js';
import { RenewalService } from './renewal.service.js';

const bearer = (req: FastifyRequest) => req.headers.authorization!.slice('Bearer '.length);

@ApiTags('glidein')
@ApiBearerAuth()
@Controller('glidein')
export class GlideinController {
  constructor(
    private readonly glidein: GlideinService,
    private readonly renewals: RenewalService,
  ) {}

  /** The glidein's bootstrap fetch: `Authorization: Bearer <ticket>` buys its entry's current IDTOKEN once, and a renewal credential. */
  @Post('credentials')
  @HttpCode(200)
  @TicketAuth()
  fetch(@Req() req: FastifyRequest) {
    return this.glidein.fetch(bearer(req), req.ip);
  }

  /** A running glidein's renewal: `Authorization: Bearer <renewal credential>` buys the entry's current credentials and the next renewal credential. */
  @Post('credentials/renew')
  @HttpCode(200)
  @RenewalAuth()
  renew(@Req() req: FastifyRequest) {
    return this.renewals.renew(bearer(req), req.ip);
  }
}
