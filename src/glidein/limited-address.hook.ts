import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { frameworkErrorReply } from '../common/exception.filter.js';
import { GlideinService } from './glidein.service.js';

const ROUTE = '/api/v1/glidein/credentials';

/**
 * Answers an address over the ticket failure limit with 429 in Fastify's first hook: before the
 * body is read, before the guard, and before any database work. At 1,000 bad tickets a second from
 * one address, going through the whole Nest pipeline only to refuse was itself a cost to everyone.
 */
@Injectable()
export class LimitedAddressHook implements OnModuleInit {
  constructor(
    private readonly adapter: HttpAdapterHost,
    private readonly glidein: GlideinService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapter.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (req, reply, done) => {
      if (req.method !== 'POST' || req.routeOptions.url !== ROUTE) return done();
      const refusal = this.glidein.refusalBeforeLookup(req.ip);
      if (!refusal) return done();
      void reply.header('retry-after', String(refusal.retryAfterSeconds));
      frameworkErrorReply(refusal, reply);
    });
  }
}
