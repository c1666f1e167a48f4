import { Body, Controller, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Audit, Roles } from '../auth/access.decorator.js';
import { PlainNamePipe } from '../common/params.js';
import { condorSubmitFragment } from './condor-submit.js';
import { IssueTicketsDto, IssueTicketsQueryDto } from './dto/issue-tickets.dto.js';
import { TicketsService } from './tickets.service.js';

@ApiTags('factory')
@ApiBearerAuth()
@Controller('factory/entries/:entry/tickets')
export class TicketsController {
  constructor(private readonly tickets: TicketsService) {}

  /** Single-use glidein bootstrap tickets, returned once: JSON, or with ?format=condor a submit-description fragment (text/plain). */
  @Post()
  @Roles('factory-admin')
  @Audit('ticket.issue')
  async issue(
    @Param('entry', PlainNamePipe('entry')) entry: string,
    @Body() dto: IssueTicketsDto,
    @Query() q: IssueTicketsQueryDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ) {
    const issued = await this.tickets.issue(entry, dto);
    if (q.format !== 'condor') return issued;
    void res.header('content-type', 'text/plain; charset=utf-8');
    return condorSubmitFragment(issued);
  }
}
