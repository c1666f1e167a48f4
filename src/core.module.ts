import { DynamicModule, Global, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { AuditFailuresInterceptor } from './audit/audit-failures.interceptor.js';
import { AuditService } from './audit/audit.service.js';
import { Clock } from './common/clock.js';
import { AllExceptionsFilter } from './common/exception.filter.js';
import { RequestContextInterceptor } from './common/request-context.interceptor.js';
import { Settings } from './config/settings.js';
import { Random } from './crypto/random.js';
import { Sealer } from './crypto/sealer.js';
import { Db } from './database/db.js';
import { EventBus } from './events/event-bus.js';
import { LoggingMetrics } from './logging/logging.metrics.js';
import { MetricsService } from './metrics/metrics.service.js';
import { LeaseService, replicaId } from './jobs/lease.service.js';
import { PacingInterceptor } from './common/read-pacer.js';
import { RequestPipelineInterceptor } from './common/request-pipeline.interceptor.js';

/** What boot opened before Nest starts: validated settings, the migrated database, the master key. */
export interface Runtime {
  settings: Settings;
  db: Db;
  sealer: Sealer;
  clock?: Clock;
}

/** Closes the database when the application shuts down. */
@Injectable()
export class DatabaseShutdown implements OnApplicationShutdown {
  constructor(private readonly db: Db) {}

  async onApplicationShutdown(): Promise<void> {
    await this.db.close();
  }
}

/** The infrastructure every capability uses: settings, database, sealing, clock, audit, metrics, leases. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(rt: Runtime): DynamicModule {
    const providers = [
      { provide: Settings, useValue: rt.settings },
      { provide: Db, useValue: rt.db },
      { provide: Sealer, useValue: rt.sealer },
      { provide: Clock, useValue: rt.clock ?? new Clock() },
      Random,
      EventBus,
      MetricsService,
      LoggingMetrics,
      AuditService,
      { provide: LeaseService, useFactory: (db: Db, clock: Clock) => new LeaseService(db, clock, replicaId(rt.settings.dataDir)), inject: [Db, Clock] },
      DatabaseShutdown,
    ];
    return {
      module: CoreModule,
      providers: [
        ...providers,
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        // One global interceptor composing these, in this order: the request context wraps the audit
        // of failures, which wraps the pacing (a paced read waits its turn after the guard let it in,
        // inside its audit), which wraps the handler.
        RequestContextInterceptor,
        AuditFailuresInterceptor,
        PacingInterceptor,
        { provide: APP_INTERCEPTOR, useClass: RequestPipelineInterceptor },
      ],
      exports: [Settings, Db, Sealer, Clock, Random, EventBus, MetricsService, AuditService, LeaseService],
    };
  }
}
