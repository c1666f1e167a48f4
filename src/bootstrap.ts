import { INestApplication, Logger, RequestMethod } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { mkdirSync, readFileSync } from 'node:fs';
import type pino from 'pino';
import { AppModule } from './app.module.js';
import { Clock } from './common/clock.js';
import { globalValidationPipe } from './common/validation.js';
import { Settings } from './config/config.module.js';
import { AppConfig } from './config/config.schema.js';
import { Runtime } from './core.module.js';
import { initMasterKey } from './crypto/master-key.init.js';
import { openDatabase } from './database/data-source.js';
import { Db } from './database/db.js';
import { createPino, PinoNestLogger } from './logging/logger.js';
import { httpMiddleware } from './logging/http.middleware.js';
import { MetricsService } from './metrics/metrics.service.js';

export const API_PREFIX = 'api/v1';

/** Opens what the service needs before Nest starts: the data directory, the migrated database, the master key. */
export async function openRuntime(config: AppConfig, opts: { clock?: Clock } = {}): Promise<Runtime> {
  const settings = new Settings(config);
  mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
  const ds = await openDatabase(settings);
  try {
    const sealer = await initMasterKey(settings, ds);
    return { settings, db: new Db(ds), sealer, clock: opts.clock };
  } catch (err) {
    await ds.destroy();
    throw err;
  }
}

export interface CreateAppOptions {
  clock?: Clock;
  /** Where log lines go (tests capture them); default stdout. */
  logDestination?: pino.DestinationStream;
}

/** Builds the whole HTTP service, ready to listen. */
export async function createApp(config: AppConfig, opts: CreateAppOptions = {}): Promise<INestApplication> {
  const log = createPino(config.log.level, opts.logDestination);
  Logger.overrideLogger(new PinoNestLogger(log));
  const rt = await openRuntime(config, opts);
  const tls = config.tls.cert && config.tls.key ? { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) } : undefined;
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(rt), {
    logger: new PinoNestLogger(log),
    bodyParser: false,
    httpsOptions: tls,
    abortOnError: false,
  });
  app.set('x-powered-by', false);
  app.set('etag', false);
  app.set('trust proxy', false);
  app.use(httpMiddleware(log, app.get(MetricsService)));
  app.useBodyParser('json', { limit: '256kb', strict: true });
  app.setGlobalPrefix(API_PREFIX, {
    exclude: [
      { path: 'healthz', method: RequestMethod.GET },
      { path: 'readyz', method: RequestMethod.GET },
      { path: 'metrics', method: RequestMethod.GET },
    ],
  });
  app.useGlobalPipes(globalValidationPipe());
  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('glidekey')
      .setDescription('Credential service for GlideinWMS: HTCondor IDTOKENs per Glidein_Site, SciTokens, forwarding to factories.')
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('api/docs', app, doc, { jsonDocumentUrl: 'api/docs-json' });
  app.enableShutdownHooks();
  return app;
}
