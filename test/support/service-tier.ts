import { DynamicModule, ForwardReference, Logger, Type } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ScheduleModule } from '@nestjs/schedule';
import { Test, TestingModule } from '@nestjs/testing';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { EntityManager, ObjectLiteral, EntityTarget, FindOptionsWhere } from 'typeorm';
import { openRuntime } from '../../src/bootstrap.js';
import { Clock } from '../../src/common/clock.js';
import type { ServiceRole } from '../../src/config/config.schema.js';
import { loadConfig } from '../../src/config/config.loader.js';
import { Settings } from '../../src/config/settings.js';
import { CoreModule } from '../../src/core.module.js';
import { Sealer } from '../../src/crypto/sealer.js';
import { Db } from '../../src/database/db.js';
import { IdentityModule } from '../../src/identity/identity.module.js';
import { createPino, PinoNestLogger } from '../../src/logging/logger.js';
import { AuditEntry } from '../../src/audit/audit-entry.entity.js';
import { ApiKeysService } from '../../src/auth/api-keys.service.js';
import type { Principal } from '../../src/auth/principal.js';
import { Engine, FakeClock, freshPostgres } from './app.js';
import { removeDir, tempDir } from './service.js';

type Import = Type<unknown> | DynamicModule | ForwardReference;

/**
 * The service tier: the real modules a capability needs, in a Nest testing module, on a fresh
 * database (a temp SQLite file, or a fresh PostgreSQL database when the engine is postgres) built
 * by the real migrations through the same boot path as the service (openRuntime: identity, master
 * key). Only the Clock is replaced, by a FakeClock the test moves. No HTTP server, crypto real;
 * lifecycle hooks run (init), so event handlers and first-start work happen as in the service.
 * Interval jobs are registered but never fire: the scheduler tick defaults to an hour. Providers that
 * hook into Fastify get an instance that never listens.
 */
export interface ServiceTier {
  module: TestingModule;
  get<T>(token: Type<T>): T;
  db: Db;
  sealer: Sealer;
  settings: Settings;
  clock: FakeClock;
  dataDir: string;
  engine: Engine;
  /** Everything the service logged so far (pino JSON lines). */
  logs(): string;
  /** Rows of one entity read back from the database, in a read transaction. */
  rows<T extends ObjectLiteral>(entity: EntityTarget<T>, where?: FindOptionsWhere<T>): Promise<T[]>;
  /** The audit lines with this action, oldest first. */
  audit(action: string): Promise<AuditEntry[]>;
  read<T>(fn: (m: EntityManager) => Promise<T>): Promise<T>;
  /** The caller an API key secret authenticates as (the tier needs AuthModule, as the factory modules bring). */
  principal(secret: string): Promise<Principal>;
  /** The first-start admin key's caller (written to <dataDir>/admin.key by AdminKeyBootstrap, as on a first start). */
  admin(): Promise<Principal>;
  close(): Promise<void>;
}

export interface ServiceTierOptions {
  engine?: Engine;
  /** The capability modules under test (CoreModule, the scheduler registry and IdentityModule come with every tier). */
  imports: Import[];
  /** Roles of the service (default both, the configuration's default). */
  roles?: ServiceRole[];
  /** Extra GLIDEKEY_* settings; a function gets the tier's data directory (for paths inside it). */
  env?: Record<string, string> | ((dataDir: string) => Record<string, string>);
  clock?: FakeClock;
}

export async function serviceTier(opts: ServiceTierOptions): Promise<ServiceTier> {
  const engine = opts.engine ?? 'sqlite';
  const dataDir = tempDir('glidekey-tier-');
  const pgdb = engine === 'postgres' ? await freshPostgres() : undefined;
  const roles = opts.roles ?? ['frontend', 'factory'];
  const config = loadConfig({
    GLIDEKEY_DATA_DIR: dataDir,
    GLIDEKEY_TRUST_DOMAIN: 'collector.example.org:9618',
    GLIDEKEY_FRONTEND_NAME: 'frontend.example.org',
    GLIDEKEY_LOG_LEVEL: 'info',
    GLIDEKEY_ROLES: roles.join(','),
    GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600',
    ...(pgdb ? { GLIDEKEY_DATABASE_URL: pgdb.url } : {}),
    ...(typeof opts.env === 'function' ? opts.env(dataDir) : opts.env),
  });
  let logs = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs += chunk.toString();
      cb();
    },
  });
  const logger = new PinoNestLogger(createPino(config.log.level, sink));
  Logger.overrideLogger(logger);
  const clock = opts.clock ?? new FakeClock(Date.now());
  let rt: Awaited<ReturnType<typeof openRuntime>> | undefined;
  let module: TestingModule | undefined;
  try {
    rt = await openRuntime(config);
    module = await Test.createTestingModule({
      imports: [CoreModule.forRoot(rt), ScheduleModule.forRoot(), IdentityModule.forRoles(roles), ...opts.imports],
    })
      .overrideProvider(Clock)
      .useValue(clock)
      .setLogger(logger)
      .compile();
    // A Fastify instance that never listens, for the providers that install Fastify hooks at init
    // (LimitedAddressHook): they run as in the service, and no request ever reaches them.
    const http = module.get(HttpAdapterHost);
    http.httpAdapter = new FastifyAdapter();
    await module.init();
  } catch (err) {
    await module?.close().catch(() => undefined);
    if (rt?.db.dataSource.isInitialized) await rt.db.close();
    await pgdb?.drop();
    removeDir(dataDir);
    throw err;
  }
  const m = module;
  const db = m.get(Db);
  const principal = async (secret: string) => {
    const p = await m.get(ApiKeysService, { strict: false }).authenticate(secret);
    if (!p) throw new Error('the API key does not authenticate');
    return p;
  };
  return {
    module: m,
    get: (token) => m.get(token, { strict: false }),
    db,
    sealer: m.get(Sealer),
    settings: m.get(Settings),
    clock,
    dataDir,
    engine,
    logs: () => logs,
    rows: (entity, where) => db.read((em) => em.find(entity, where ? { where } : {})),
    audit: (action) => db.read((em) => em.find(AuditEntry, { where: { action }, order: { id: 'ASC' } })),
    read: (fn) => db.read(fn),
    principal,
    admin: () => principal(readFileSync(join(dataDir, 'admin.key'), 'utf8').trim()),
    close: async () => {
      await m.close();
      await pgdb?.drop();
      removeDir(dataDir);
    },
  };
}
