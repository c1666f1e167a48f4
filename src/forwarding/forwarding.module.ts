import { Module } from '@nestjs/common';
import { DeliveriesService } from './deliveries.service.js';
import { DelivererService } from './deliverer.service.js';
import { EntriesSyncService } from './entries-sync.service.js';
import { FactoriesController } from './factories.controller.js';
import { FactoriesService } from './factories.service.js';
import { FactoryClient } from './factory-client.js';
import { ForwardingCron } from './forwarding.cron.js';
import { OutboxService } from './outbox.service.js';
import { OutboxReconciler } from './reconcile.service.js';
import { SendableFilter } from './sendable.service.js';

/** The frontend's forwarding to factories: registration, their entries, the outbox and its deliverer. */
@Module({
  controllers: [FactoriesController],
  providers: [FactoriesService, OutboxService, OutboxReconciler, SendableFilter, FactoryClient, DelivererService, EntriesSyncService, DeliveriesService, ForwardingCron],
  exports: [FactoriesService, OutboxService, OutboxReconciler, DelivererService, EntriesSyncService],
})
export class ForwardingModule {}
