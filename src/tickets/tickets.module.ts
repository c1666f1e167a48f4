import { Module } from '@nestjs/common';
import { FactoryModule } from '../factory/factory.module.js';
import { TicketsController } from './tickets.controller.js';
import { TicketsCron } from './tickets.cron.js';
import { TicketsMetrics } from './tickets.metrics.js';
import { TicketsService } from './tickets.service.js';

/** Factory role: single-use glidein bootstrap tickets (issue, purge). The glidein module consumes them. */
@Module({
  imports: [FactoryModule],
  controllers: [TicketsController],
  providers: [TicketsService, TicketsMetrics, TicketsCron],
  exports: [TicketsService, TicketsMetrics],
})
export class TicketsModule {}
