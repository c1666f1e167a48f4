import type { INestApplication } from '@nestjs/common';
import type { Server as HttpsServer } from 'node:https';
import type pino from 'pino';
import { CLOSE_GRACE_MS } from '../bootstrap.js';
import { loadConfig } from '../config/config.loader.js';
import type { AppConfig } from '../config/config.schema.js';
import { readTlsFiles } from './tls-files.js';

/** How long SIGTERM waits for in-flight requests before what is left is closed (the service's close grace). */
export const DRAIN_SECONDS = CLOSE_GRACE_MS / 1000;

/**
 * SIGHUP re-reads the configuration and applies what can change without a restart: the log level
 * and the TLS certificate and key (new handshakes get the new pair; open connections keep theirs).
 * Anything that fails leaves the running settings as they were, and says so in the log.
 */
export function reload(app: INestApplication, log: pino.Logger, running: { config: AppConfig }): void {
  // What a reload did is said whatever the log level was or becomes (made anew each time: pino
  // carries a change of the parent's level over to the children it has).
  const notice = () => log.child({ context: 'reload' }, { level: 'info' });
  let next: AppConfig;
  try {
    next = loadConfig();
  } catch (err) {
    notice().error(`SIGHUP: configuration not reloaded, nothing changed: ${(err as Error).message}`);
    return;
  }
  const done: string[] = [];
  if (next.log.level !== log.level) {
    done.push(`log level ${log.level} -> ${next.log.level}`);
    log.level = next.log.level;
  }
  const { cert, key } = next.tls;
  if (cert && key && running.config.tls.cert) {
    try {
      const files = readTlsFiles(cert, key);
      (app.getHttpServer() as HttpsServer).setSecureContext({ cert: files.cert, key: files.key });
      done.push(`TLS certificate ${cert} (sha256 ${files.fingerprint})`);
    } catch (err) {
      notice().error(`SIGHUP: TLS certificate not reloaded, the current one stays in use: ${(err as Error).message}`);
    }
  } else if (Boolean(cert) !== Boolean(running.config.tls.cert)) {
    notice().warn('SIGHUP: switching between HTTP and HTTPS needs a restart');
  }
  // Whether the server speaks TLS is fixed at start: running.config.tls keeps saying so.
  running.config = { ...running.config, log: next.log };
  notice().info(
    `SIGHUP: reloaded ${done.length ? done.join(', ') : 'nothing (log level and TLS files unchanged or not in use)'}; other settings apply at the next start`,
  );
}

/**
 * SIGTERM and SIGINT drain: the listener closes, idle keep-alive connections are closed, requests
 * in flight finish (at most DRAIN_SECONDS), the jobs stop, then the process exits 0 (1 if the drain
 * had to be cut short).
 */
export function installSignalHandlers(app: INestApplication, log: pino.Logger, config: AppConfig): void {
  const running = { config };
  process.on('SIGHUP', () => reload(app, log, running));
  let draining = false;
  const drain = (signal: NodeJS.Signals) => {
    if (draining) return;
    draining = true;
    const notice = log.child({ context: 'shutdown' }, { level: 'info' });
    notice.info(`${signal}: draining: no new connections, finishing requests in flight (at most ${DRAIN_SECONDS} s)`);
    const server = app.getHttpServer() as HttpsServer;
    let cut = false;
    const finish = (code: number) => {
      notice.info(code === 0 ? 'drained; stopped' : 'stopped');
      // The log is written asynchronously: exit once its last lines are out.
      log.flush(() => process.exit(code));
      setTimeout(() => process.exit(code), 1000).unref();
    };
    setTimeout(() => {
      cut = true;
      notice.warn(`drain cut short after ${DRAIN_SECONDS} s: closing the connections still open`);
      server.closeAllConnections();
      setTimeout(() => finish(1), 1000).unref();
    }, DRAIN_SECONDS * 1000).unref();
    app.close().then(
      () => finish(cut ? 1 : 0),
      (err: unknown) => {
        notice.error({ err }, 'error while stopping');
        finish(1);
      },
    );
  };
  process.on('SIGTERM', drain);
  process.on('SIGINT', drain);
}
