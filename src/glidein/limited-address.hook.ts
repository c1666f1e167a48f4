import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { RetryLaterError } from '../common/errors.js';
import { frameworkErrorReply } from '../common/exception.filter.js';
import { GlideinService } from './glidein.service.js';
import { RenewalService } from './renewal.service.js';

const FETCH = '/api/v1/glidein/credentials';
const RENEW = '/api/v1/glidein/credentials/renew';

/**
 * Answers an address over the ticket failure limit with 429 in Fastify's first hook: before the
 * body is read, before the guard, and before any database work. At 1,000 bad tickets a second from
 * one address, going through the whole Nest pipeline only to refuse was itself a cost to everyone.
 * The bootstrap fetch and the renewal share one failure count per address.
 */
@Injectable()
export class LimitedAddressHook implements OnModuleInit {
  constructor(
    private readonly adapter: HttpAdapterHost,
    private readonly glidein: GlideinService,
    private readonly renewals: RenewalService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapter.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (req, reply, done) => {
      if (req.method !== 'POST') return done();
      const url = req.routeOptions.url;
      let refusal: RetryLaterError | undefined;
      if (url === FETCH) refusal = this.glidein.refusalBeforeLookup(req.ip);
      else if (url === RENEW) refusal = this.renewals.refusalBeforeLookup(req.ip);
      else return done();
      if (!refusal) return done();
      void reply.header('retry-after', String(refusal.retryAfterSeconds));
      frameworkErrorReply(refusal, reply);
    });
  }
}
