import { DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { AuditController } from './audit/audit.controller.js';
import { AuthModule } from './auth/auth.module.js';
import { CoreModule, Runtime } from './core.module.js';
import { HealthController } from './health/health.controller.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { SitesModule } from './sites/sites.module.js';
import { TokensModule } from './tokens/tokens.module.js';
import { RotationModule } from './rotation/rotation.module.js';
import { SchedulerModule } from './scheduler/scheduler.module.js';
import { SciTokensModule } from './scitokens/scitokens.module.js';
import { IdentityModule } from './identity/identity.module.js';
import { FactoryModule } from './factory/factory.module.js';
import { ForwardingModule } from './forwarding/forwarding.module.js';
import { TicketsModule } from './tickets/tickets.module.js';
import { RetentionModule } from './retention/retention.module.js';
import { GlideinModule } from './glidein/glidein.module.js';
import { CollectorModule } from './collector/collector.module.js';

/** The service: shared core (with the scheduler registry every role's interval jobs use), plus the capabilities of each enabled role. */
@Module({})
export class AppModule {
  static forRoot(rt: Runtime): DynamicModule {
    const frontend = rt.settings.hasRole('frontend')
      ? [SitesModule, TokensModule, RotationModule, SciTokensModule, ForwardingModule, CollectorModule, SchedulerModule]
      : [];
    const factory = rt.settings.hasRole('factory') ? [FactoryModule, TicketsModule, GlideinModule] : [];
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(rt),
        ScheduleModule.forRoot(),
        AuthModule,
        IdentityModule.forRoles(rt.settings.config.roles),
        RetentionModule,
        ...frontend,
        ...factory,
      ],
      controllers: [HealthController, MetricsController, AuditController],
    };
  }
}
