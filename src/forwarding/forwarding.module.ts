import { Module } from '@nestjs/common';
import { SitesModule } from '../sites/sites.module.js';
import { DeliveriesService } from './deliveries.service.js';
import { DelivererService } from './deliverer.service.js';
import { EntriesSyncService } from './entries-sync.service.js';
import { FactoriesController } from './factories.controller.js';
import { FactoriesService } from './factories.service.js';
import { FactoryClient } from './factory-client.js';
import { ForwardingCron } from './forwarding.cron.js';
import { ForwardingMetrics } from './forwarding.metrics.js';
import { IdentityRotationController } from './identity-rotation.controller.js';
import { IdentityTransitionService } from './identity-transition.service.js';
import { OutboxService } from './outbox.service.js';
import { CredentialSources } from './credential-sources.js';
import { OutboxReconciler } from './reconcile.service.js';
import { SendableFilter } from './sendable.service.js';

/** The frontend's forwarding to factories: registration, their entries, the outbox and its deliverer. */
@Module({
  imports: [SitesModule],
  controllers: [FactoriesController, IdentityRotationController],
  providers: [
    FactoriesService,
    OutboxService,
    OutboxReconciler,
    SendableFilter,
    FactoryClient,
    DelivererService,
    EntriesSyncService,
    DeliveriesService,
    ForwardingMetrics,
    ForwardingCron,
    IdentityTransitionService,
    CredentialSources,
  ],
  exports: [FactoriesService, OutboxService, OutboxReconciler, DelivererService, EntriesSyncService, CredentialSources],
})
export class ForwardingModule {}
