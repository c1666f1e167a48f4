import type { INestApplication } from '@nestjs/common';
import { Writable } from 'node:stream';
import pg from 'pg';
import { createApp } from '../../src/bootstrap.js';
import { Clock } from '../../src/common/clock.js';
import { loadConfig } from '../../src/config/config.loader.js';
import { Db } from '../../src/database/db.js';
import { removeDir, tempDir } from './service.js';

/** A clock the test moves by hand. */
export class FakeClock extends Clock {
  constructor(public ms = Date.parse('2026-11-01T00:00:00Z')) {
    super();
  }
  override now(): number {
    return this.ms;
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
  override async sleep(ms: number): Promise<void> {
    this.ms += Math.max(0, ms);
  }
}

export type Engine = 'sqlite' | 'postgres';

/** The engines database tests run on: SQLite always, PostgreSQL when GLIDEKEY_TEST_POSTGRES_URL is set. */
export const ENGINES: Engine[] = process.env.GLIDEKEY_TEST_POSTGRES_URL ? ['sqlite', 'postgres'] : ['sqlite'];

/** A fresh, empty PostgreSQL database for one test app; dropped by the returned cleanup. */
export async function freshPostgres(): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = new URL(process.env.GLIDEKEY_TEST_POSTGRES_URL!);
  const name = `glidekey_t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const c = new pg.Client({ connectionString: admin.toString() });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const url = new URL(admin.toString());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const d = new pg.Client({ connectionString: admin.toString() });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    },
  };
}

export interface TestApp {
  app: INestApplication;
  url: string;
  api: string;
  adminKey: string;
  dataDir: string;
  clock: FakeClock;
  db: Db;
  logs: () => string;
  close: () => Promise<void>;
}

/** The whole service in this process (real migrations, real crypto), listening on a loopback port. */
export async function startTestApp(opts: { engine?: Engine; env?: Record<string, string>; clock?: FakeClock; dataDir?: string } = {}): Promise<TestApp> {
  const dataDir = opts.dataDir ?? tempDir();
  const pgdb = opts.engine === 'postgres' ? await freshPostgres() : undefined;
  const config = loadConfig({
    GLIDEKEY_DATA_DIR: dataDir,
    GLIDEKEY_PORT: '0',
    GLIDEKEY_TRUST_DOMAIN: 'collector.example.org:9618',
    GLIDEKEY_FRONTEND_NAME: 'frontend.example.org',
    GLIDEKEY_LOG_LEVEL: 'info',
    ...(pgdb ? { GLIDEKEY_DATABASE_URL: pgdb.url } : {}),
    ...opts.env,
  });
  let logs = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs += chunk.toString();
      cb();
    },
  });
  const clock = opts.clock ?? new FakeClock(Date.now());
  const app = await createApp(config, { clock, logDestination: sink, docsUi: false });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const { readFileSync } = await import('node:fs');
  return {
    app,
    url,
    api: `${url}/api/v1`,
    adminKey: readFileSync(`${dataDir}/admin.key`, 'utf8').trim(),
    dataDir,
    clock,
    db: app.get(Db),
    logs: () => logs,
    close: async () => {
      await app.close();
      await pgdb?.drop();
      if (!opts.dataDir) removeDir(dataDir);
    },
  };
}
