import { Module } from '@nestjs/common';
import { FactoryModule } from '../factory/factory.module.js';
import { TicketsModule } from '../tickets/tickets.module.js';
import { FailureLimiter } from './failure-limiter.js';
import { GlideinAnswers } from './glidein-answer.js';
import { GlideinController } from './glidein.controller.js';
import { GlideinService } from './glidein.service.js';
import { LimitedAddressHook } from './limited-address.hook.js';
import { RenewalAdminService } from './renewal-admin.service.js';
import { RenewalCron } from './renewal.cron.js';
import { GlideinMetrics } from './glidein.metrics.js';
import { RenewalService } from './renewal.service.js';
import { RenewalsController } from './renewals.controller.js';
import { SpendWriter } from './spend-writer.js';
import { TokenBootstrap } from './token-bootstrap.service.js';

/** Factory role: the glidein's bootstrap fetch, paid for with a ticket, and its renewals while it runs. */
@Module({
  imports: [FactoryModule, TicketsModule],
  controllers: [GlideinController, RenewalsController],
  providers: [
    GlideinService,
    GlideinAnswers,
    RenewalService,
    RenewalAdminService,
    GlideinMetrics,
    RenewalCron,
    FailureLimiter,
    LimitedAddressHook,
    TokenBootstrap,
    SpendWriter,
  ],
})
export class GlideinModule {}
