import { Module } from '@nestjs/common';
import { FactoryModule } from '../factory/factory.module.js';
import { TicketsModule } from '../tickets/tickets.module.js';
import { FailureLimiter } from './failure-limiter.js';
import { GlideinController } from './glidein.controller.js';
import { GlideinService } from './glidein.service.js';
import { LimitedAddressHook } from './limited-address.hook.js';

/** Factory role: the glidein's bootstrap fetch, paid for with a ticket. */
@Module({
  imports: [FactoryModule, TicketsModule],
  controllers: [GlideinController],
  providers: [GlideinService, FailureLimiter, LimitedAddressHook],
})
export class GlideinModule {}
