import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { TicketAuth } from '../auth/access.decorator.js';
import { GlideinService } from './glidein.service.js';

@ApiTags('glidein')
@ApiBearerAuth()
@Controller('glidein')
export class GlideinController {
  constructor(private readonly glidein: GlideinService) {}

  /** The glidein's bootstrap fetch: `Authorization: Bearer <ticket>` buys its entry's current IDTOKEN once. */
  @Post('credentials')
  @HttpCode(200)
  @TicketAuth()
  fetch(@Req() req: FastifyRequest) {
    return this.glidein.fetch(req.headers.authorization!.slice('Bearer '.length), req.ip);
  }
}
