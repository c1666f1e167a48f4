import { BeforeApplicationShutdown, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { Settings } from '../config/settings.js';
import { EventBus } from '../events/event-bus.js';
import { CollectorMetrics } from './collector.metrics.js';
import { CommandOutcome, CommandRunner } from './command-runner.js';
import type { CollectorFilesChange } from './collector-files-change.js';
import { RunsAs } from '../common/request-context.js';

/** The most names one audit line lists per kind; the rest is counted. */
const NAMES_LISTED = 50;
const MAX_RETRY_MS = 300_000;

/**
 * Runs frontend.reloadCommand after glidekey changed the collector's files, because a collector
 * keeps serving its cached key list and revocation expression until it is reconfigured. Changes
 * arriving within the debounce of each other share one run (waiting at most ten debounces in all);
 * one run at a time, and a change during a run is followed by one more run. A failed run is retried
 * with doubling delays until one succeeds. Nothing in argv comes from a request: it is the
 * configured command only.
 */
@Injectable()
export class CollectorReloadService implements BeforeApplicationShutdown, OnModuleInit {
  private readonly log = new Logger('collector-reload');
  private readonly argv: readonly string[] | undefined;
  private readonly debounceMs: number;
  private readonly timeoutMs: number;
  /** What changed since the last run; `since` is when the first of it came (monotonic ms). */
  private pending: { written: Set<string>; removed: Set<string>; revocationFile: boolean; since: number } | null = null;
  /** The debounce or the retry backoff: one-shot delays driven by changes, not a periodic job. */
  private timer: NodeJS.Timeout | null = null;
  private retrying = false;
  private running: Promise<void> | null = null;
  private failures = 0;
  private closed = false;

  constructor(
    private readonly runner: CommandRunner,
    private readonly audit: AuditService,
    private readonly metrics: CollectorMetrics,
    private readonly clock: Clock,
    private readonly events: EventBus,
    settings: Settings,
  ) {
    const f = settings.config.frontend;
    this.argv = f.reloadCommand;
    this.debounceMs = f.reloadDebounceMs;
    this.timeoutMs = f.reloadTimeoutSeconds * 1000;
  }

  onModuleInit(): void {
    this.events.on('collector.files', (change) => this.changed(change));
  }

  /** The file writers' `collector.files` events: a file on disk changed (never sent for a no-op). */
  changed(change: CollectorFilesChange): void {
    if (!this.argv || this.closed) return;
    if (!change.keysWritten?.length && !change.keysRemoved?.length && !change.revocationFile) return;
    const p = (this.pending ??= { written: new Set(), removed: new Set(), revocationFile: false, since: performance.now() });
    for (const k of change.keysWritten ?? []) {
      p.removed.delete(k);
      p.written.add(k);
    }
    for (const k of change.keysRemoved ?? []) {
      p.written.delete(k);
      p.removed.add(k);
    }
    p.revocationFile ||= Boolean(change.revocationFile);
    this.metrics.pending.set(1);
    // A run in progress schedules the next when it ends; a retry keeps its backoff.
    if (this.running || this.retrying) return;
    // The debounce is a timer, so its cap is measured on the monotonic clock (a test clock does not move timers).
    this.schedule(Math.min(this.debounceMs, Math.max(0, p.since + 10 * this.debounceMs - performance.now())));
  }

  /** Resolves once nothing is scheduled or running (a failing command keeps it waiting). */
  async idle(): Promise<void> {
    while (this.timer || this.running) {
      if (this.running) await this.running;
      else await new Promise((r) => setTimeout(r, Math.min(50, this.debounceMs + 1)));
    }
  }

  /** Nothing new starts; a run under way (bounded by the timeout) is waited for, so its audit line lands. */
  async beforeApplicationShutdown(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.retrying = false;
      this.running = this.runOnce().finally(() => {
        this.running = null;
        this.afterRun();
      });
    }, delayMs);
  }

  private afterRun(): void {
    if (this.closed || !this.pending) return;
    if (this.failures) {
      this.retrying = true;
      this.schedule(Math.min(this.debounceMs * 2 ** this.failures, MAX_RETRY_MS));
    } else {
      this.schedule(this.debounceMs);
    }
  }

  @RunsAs('system:collector-reload')
  private async runOnce(): Promise<void> {
    const p = this.pending;
    if (!p || !this.argv) return;
    this.pending = null;
    const outcome = await this.runner.run(this.argv, this.timeoutMs);
    this.metrics.reloads.inc({ result: outcome.result });
    const reason = {
      keysWritten: listed(p.written),
      keysRemoved: listed(p.removed),
      revocationFile: p.revocationFile,
    };
    if (outcome.result === 'ok') {
      this.failures = 0;
      this.metrics.lastSuccess.set(this.clock.nowSeconds());
      if (!this.pending) this.metrics.pending.set(0);
      this.log.log(`collector reload ran in ${outcome.durationMs} ms (${summary(p)})`);
    } else {
      this.failures++;
      // Put the change back (merged with any that came since) for the retry.
      const q = this.pending as typeof p | null;
      this.pending = {
        written: new Set([...p.written, ...(q?.written ?? [])].filter((k) => !q?.removed.has(k))),
        removed: new Set([...p.removed, ...(q?.removed ?? [])].filter((k) => !q?.written.has(k))),
        revocationFile: p.revocationFile || Boolean(q?.revocationFile),
        since: p.since,
      };
      const delay = Math.min(this.debounceMs * 2 ** this.failures, MAX_RETRY_MS);
      this.log.error(
        `collector reload ${how(outcome)} after ${outcome.durationMs} ms (failure ${this.failures} in a row); retrying in ${delay} ms${outcome.stderr.trim() ? `; stderr: ${outcome.stderr.trim()}` : ''}`,
      );
    }
    await this.audit
      .recordAlone({
        action: 'collector.reload',
        target: 'collector',
        result: outcome.result === 'ok' ? 'success' : 'failure',
        detail: {
          reason,
          result: outcome.result,
          durationMs: outcome.durationMs,
          exitCode: outcome.code,
          signal: outcome.signal,
          ...(outcome.spawnError ? { spawnError: outcome.spawnError } : {}),
          attempt: outcome.result === 'ok' ? undefined : this.failures,
        },
      })
      .catch((err: unknown) => this.log.error({ err }, 'could not audit a collector reload'));
  }
}

function listed(s: Set<string>): { names: string[]; count: number } {
  return { names: [...s].sort().slice(0, NAMES_LISTED), count: s.size };
}

function summary(p: { written: Set<string>; removed: Set<string>; revocationFile: boolean }): string {
  const parts = [];
  if (p.written.size) parts.push(`${p.written.size} key file(s) written`);
  if (p.removed.size) parts.push(`${p.removed.size} removed`);
  if (p.revocationFile) parts.push('revocation file rewritten');
  return parts.join(', ');
}

function how(o: CommandOutcome): string {
  if (o.result === 'timeout') return 'timed out and was killed';
  if (o.spawnError) return `could not start (${o.spawnError})`;
  return o.signal ? `was ended by ${o.signal}` : `exited with ${o.code}`;
}
