import { INestApplication, Logger, RequestMethod } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyInstance } from 'fastify';
import { mkdirSync } from 'node:fs';
import type pino from 'pino';
import { AppModule } from './app.module.js';
import { Clock } from './common/clock.js';
import { frameworkErrorReply, JsonTooDeepError, NotJsonObjectError } from './common/exception.filter.js';
import { DomainError } from './common/errors.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './common/json-depth.js';
import { BEARER_FORMAT, documentErrors } from './common/openapi-errors.js';
import { forbiddenField, globalValidationPipe } from './common/validation.js';
import { Settings } from './config/settings.js';
import { AppConfig } from './config/config.schema.js';
import { Runtime } from './core.module.js';
import { initMasterKey } from './crypto/master-key.init.js';
import { openDatabase } from './database/data-source.js';
import { Db } from './database/db.js';
import { checkDatabaseIdentity, ensureDatabaseIdentity, requireInitialised, requireSqliteFile } from './database/identity.js';
import { readTlsFiles } from './lifecycle/tls-files.js';
import { installHttpHooks, requestIdOf } from './logging/http.hooks.js';
import { createPino, PinoNestLogger } from './logging/logger.js';
import { LoggingMetrics } from './logging/logging.metrics.js';

export const API_PREFIX = 'api/v1';
const BODY_LIMIT = 256 * 1024;
/** Routes that take more: a large factory's glideinWMS.xml (with config.d) runs to megabytes. */
const ROUTE_BODY_LIMITS: Record<string, number> = { [`POST /${API_PREFIX}/factory/entries/import`]: 8 * 1024 * 1024 };
/**
 * Longest path parameter (as sent, percent-encoded) the router takes: every valid name (128
 * characters, even with each one encoded as %XX) must be addressable; longer ones answer 414.
 */
export const MAX_PARAM_LENGTH = 400;

/** How long requests in flight may run on once the service closes. */
export const CLOSE_GRACE_MS = 5_000;

/**
 * Opens what the service needs before Nest starts: the data directory, the migrated database, the
 * master key. With `create: false` (the host CLI without --init) a database nobody initialised is
 * refused instead of created.
 */
export async function openRuntime(config: AppConfig, opts: { clock?: Clock; create?: boolean } = {}): Promise<Runtime> {
  const settings = new Settings(config);
  if (opts.create === false) requireSqliteFile(settings);
  mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
  const ds = await openDatabase(settings);
  try {
    if (opts.create === false) await requireInitialised(settings, ds);
    // The identity goes in first: a crash later in a first start leaves a database that is known to be ours.
    await checkDatabaseIdentity(settings, ds);
    await ensureDatabaseIdentity(settings, ds);
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
  /** The logger to use (main keeps it, to change its level on SIGHUP); default one made from config.log.level. */
  log?: pino.Logger;
  /**
   * Serve the OpenAPI UI's assets (default true). In-process tests turn it off: jest on Node 20
   * cannot load @fastify/static's ESM-only dependencies. The JSON document is always served.
   */
  docsUi?: boolean;
}

/**
 * JSON bodies only, and only objects or arrays: Fastify's default parser (prototype poisoning
 * refused), stricter, and no deeper than MAX_JSON_DEPTH (checked by a linear scan before parsing).
 * An empty body is no body.
 */
function installJsonParser(fastify: FastifyInstance): void {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (req, body, done) => {
    // An empty body declared as JSON (curl -H 'Content-Type: application/json' -X POST, as a shell
    // that sends one header set for every call does) is no body, as without the header.
    if (body === '') return done(null, undefined);
    if (nestsDeeperThan(body as string, MAX_JSON_DEPTH))
      return done(new JsonTooDeepError(`request body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
    void parse(req, body as string, (err: Error | null, value?: unknown) => {
      if (err) return done(poisonedField(body as string) ?? err, undefined);
      if (value === null || typeof value !== 'object') return done(new NotJsonObjectError('request body must be a JSON object'), undefined);
      done(null, value);
    });
  });
}

/**
 * Fastify's parser refuses `__proto__` (and `constructor.prototype`) outright; say which field,
 * as for any other unknown field. JSON.parse keeps such a member as a plain own property, read only.
 */
function poisonedField(text: string): DomainError | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const bad = forbiddenField(value);
  return bad ? new DomainError(bad.code, bad.message, bad.field) : undefined;
}

/** Every route the service serves (method and pattern), as Fastify registered them. */
export const ROUTES = Symbol('glidekey routes');

/** Builds the whole HTTP service, ready to listen. */
export async function createApp(config: AppConfig, opts: CreateAppOptions = {}): Promise<INestApplication> {
  const log = opts.log ?? createPino(config.log.level, opts.logDestination);
  Logger.overrideLogger(new PinoNestLogger(log));
  // Before the database is opened: a bad TLS file changes nothing on disk.
  const tls = config.tls.cert && config.tls.key ? readTlsFiles(config.tls.cert, config.tls.key) : undefined;
  const rt = await openRuntime(config, opts);
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT,
    maxParamLength: MAX_PARAM_LENGTH,
    trustProxy: false,
    genReqId: requestIdOf,
    requestIdHeader: false,
    logger: false,
    frameworkErrors: (err: unknown, _req: unknown, reply: Parameters<typeof frameworkErrorReply>[1]) => frameworkErrorReply(err, reply),
    ...(tls ? { https: { cert: tls.cert, key: tls.key } } : {}),
  } as ConstructorParameters<typeof FastifyAdapter>[0]);
  const fastify = adapter.getInstance() as unknown as FastifyInstance & { [ROUTES]: string[] };
  fastify[ROUTES] = [];
  fastify.addHook('onRoute', (r) => {
    for (const m of [r.method].flat()) if (m !== 'HEAD') fastify[ROUTES].push(`${m} ${r.url}`);
    const limit = ROUTE_BODY_LIMITS[`${[r.method].flat()[0]} ${r.url}`];
    if (limit) r.bodyLimit = limit;
  });
  installJsonParser(fastify);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(rt), adapter, {
    logger: new PinoNestLogger(log),
    bodyParser: false,
    abortOnError: false,
  });
  installHttpHooks(fastify, log, app.get(LoggingMetrics));
  // Closing waits for open connections, and Node counts a kept-alive connection that has not sent a
  // request yet as busy until its headersTimeout (60 s): requests in flight get CLOSE_GRACE_MS to
  // finish, then whatever is still open is closed.
  fastify.addHook('preClose', (done) => {
    setTimeout(() => fastify.server.closeAllConnections(), CLOSE_GRACE_MS).unref();
    done();
  });
  app.setGlobalPrefix(API_PREFIX, {
    exclude: [
      { path: 'healthz', method: RequestMethod.GET },
      { path: 'readyz', method: RequestMethod.GET },
      { path: 'metrics', method: RequestMethod.GET },
    ],
  });
  app.useGlobalPipes(globalValidationPipe());
  const doc = documentErrors(
    SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('glidekey')
        .setDescription('Credential service for GlideinWMS: HTCondor IDTOKENs per Glidein_Site, SciTokens, forwarding to factories.')
        .setVersion('1')
        .addBearerAuth({
          type: 'http',
          scheme: 'bearer',
          bearerFormat: BEARER_FORMAT,
          description: `Authorization: Bearer <secret>, the secret as ${BEARER_FORMAT}`,
        })
        .build(),
    ),
  );
  SwaggerModule.setup('api/docs', app, doc, { jsonDocumentUrl: 'api/docs-json', swaggerUiEnabled: opts.docsUi ?? true });
  // No enableShutdownHooks: main's own handlers drain on SIGTERM and reload on SIGHUP.
  return app;
}
