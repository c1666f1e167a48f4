import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { In, LessThanOrEqual, Not } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { Settings } from '../config/settings.js';
import { Random } from '../crypto/random.js';
import { Sealer } from '../crypto/sealer.js';
import { Db } from '../database/db.js';
import { EventBus, ORDER } from '../events/event-bus.js';
import { IdentityService } from '../identity/identity.service.js';
import { LeaseService } from '../jobs/lease.service.js';
import { Delivery, deliveryAd } from './delivery.entity.js';
import { EnvelopeBody, EnvelopeCredential, sealEnvelope, WithdrawalReason } from '../protocol/envelope.js';
import { backoffMs, envelopeBatches } from './envelope-batches.js';
import { SendableFilter } from './sendable.service.js';
import { servedGroups } from './served-groups.js';

export { backoffMs } from './envelope-batches.js';
import { Factory, factoryApiKeyAd } from './factory.entity.js';
import { FactoryCallError, FactoryClient } from './factory-client.js';
import { ForwardingMetrics } from './forwarding.metrics.js';
import { OutboxService } from './outbox.service.js';
import { IdentityTransitionService } from './identity-transition.service.js';
import { RunsAs } from '../common/request-context.js';
import { query, sql } from '../database/sql.js';

export interface DrainReport {
  ran: boolean;
  delivered: number;
  refused: number;
  dropped: number;
  failed: number;
}

/** Rows read per pass. */
const BATCH = 5000;
/** Settled rows are kept this long for GET /deliveries, then purged (the newest per entry stays). */
const RETAIN_MS = 7 * 86_400_000;
/** The purge of settled rows runs at most this often (it reads the whole outbox; rows are kept for days anyway). */
const PURGE_EVERY_MS = 60_000;
/**
 * A queued row wakes a pass 50 ms later, but no sooner than this long after the previous pass
 * began: under a burst of changes (a bulk rotation) rows coalesce into fewer, larger envelopes per
 * factory instead of one small envelope per factory every few rotations. A lone change still goes
 * within 50 ms.
 */
const COALESCE_MS = 1000;

/**
 * Sends the outbox: per factory, the due rows in sealed envelopes (credentials and withdrawals in
 * envelopes of their own); marks each row delivered on the factory's acknowledgement. A failed
 * send is retried with exponential backoff and jitter. Credentials that must not go (expired,
 * retired key, revoked: SendableFilter) are dropped, never sent. One replica at a time holds the lease.
 */
@Injectable()
export class DelivererService implements OnModuleInit, OnApplicationShutdown {
  private readonly log = new Logger('forwarding');
  /** The send in flight per factory, with what it has done so far (for a drain that waits on it). */
  private readonly lanes = new Map<string, { done: Promise<void>; report: DrainReport }>();
  /** Choosing rows for sends, one pass at a time. */
  private choosing: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  /** When the last pass began, and the last purge ran (monotonic ms). */
  private lastPassAt = -Infinity;
  private lastPurgeAt = -Infinity;
  /** Factories given rows while their send was in flight: a pass follows when that send ends. */
  private readonly afterLane = new Set<string>();
  /** When this replica last took or renewed the forwarding lease (clock ms). */
  private leaseAt = -Infinity;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
    private readonly clock: Clock,
    private readonly settings: Settings,
    private readonly lease: LeaseService,
    private readonly identity: IdentityService,
    private readonly client: FactoryClient,
    private readonly outbox: OutboxService,
    private readonly sendable: SendableFilter,
    private readonly audit: AuditService,
    private readonly metrics: ForwardingMetrics,
    private readonly events: EventBus,
    private readonly transition: IdentityTransitionService,
    private readonly random: Random,
  ) {}

  onModuleInit(): void {
    this.events.on('outbox.queued', ({ factory }) => this.queued(factory), ORDER.delivery);
  }

  onApplicationShutdown(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /**
   * A row was queued for `factory`: a pass in 50 ms, though no sooner than COALESCE_MS after the
   * previous pass began; while a send to that factory is in flight, the pass follows its end.
   */
  private queued(factory: string): void {
    if (this.lanes.has(factory)) this.afterLane.add(factory);
    else this.wake(this.coalesced());
  }

  private coalesced(): number {
    return Math.max(50, this.lastPassAt + COALESCE_MS - performance.now());
  }

  /**
   * Runs a pass in `delayMs` (or sooner if one is already planned): a one-shot wake-up, not a
   * periodic job (ForwardingCron's IntervalJob is that). Its deadline is on the monotonic clock the
   * timer runs on, not the Clock (a test clock does not move timers).
   */
  wake(delayMs: number): void {
    if (this.closed) return;
    const at = performance.now() + delayMs;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      void this.pass(undefined, false).catch((err: unknown) => this.log.error({ err }, 'delivery pass failed; retrying at the next tick'));
    }, delayMs);
    this.timer.unref();
  }

  /**
   * One pass over the due rows (of one factory when `only` is given). Each factory has its own lane:
   * a pass starts a send for every factory with due rows whose lane is free, and waits for the sends
   * it started. Choosing rows is serialised, so no row is ever in two sends; sending is not, so a
   * factory that hangs (until forwarding.requestTimeoutSeconds) holds up its own lane only. A
   * factory whose lane is busy is waited for, then sent what is still due (the caller sees it
   * done, as before); the other factories' sends are already under way meanwhile.
   */
  drain(only?: string): Promise<DrainReport> {
    return this.pass(only, true);
  }

  /**
   * drain(), or (`waitBusy` false: a pass the deliverer woke for itself) one that leaves a busy
   * factory's rows to the pass that follows the end of its send, instead of waiting for that send
   * in a pass of its own: under a burst of changes, passes would otherwise pile up behind each
   * send, each taking the lease and choosing rows again.
   */
  @RunsAs('system:forwarding')
  private async pass(only: string | undefined, waitBusy: boolean): Promise<DrainReport> {
    this.lastPassAt = performance.now();
    const report: DrainReport = { ran: false, delivered: 0, refused: 0, dropped: 0, failed: 0 };
    const add = (r: DrainReport) => addCounts(report, r);
    // A send already under way for this factory counts for the caller: it may be the very rows it asked for.
    if (only) {
      for (let lane = this.lanes.get(only); lane; lane = this.lanes.get(only)) {
        await lane.done;
        add(lane.report);
      }
    }
    const started = await this.choose(only, report);
    if (!started) return report;
    // A busy factory's rows go in the pass that follows its send; if that send has ended meanwhile, in one now.
    if (!waitBusy) {
      for (const name of started.busy) {
        if (this.lanes.has(name)) this.afterLane.add(name);
        else this.wake(this.coalesced());
      }
    }
    await Promise.all([...started.sends, ...(waitBusy ? started.busy : []).map(async (name) => add(await this.drain(name)))]);
    await this.purgeSettled(started.now);
    await this.planNext();
    if (started.full) this.wake(0);
    return report;
  }

  private choose(only: string | undefined, report: DrainReport): Promise<{ sends: Promise<void>[]; busy: string[]; now: number; full: boolean } | null> {
    const run = this.choosing.then(async () => {
      const ttl = Math.max(3 * this.settings.config.scheduler.tickSeconds * 1000, 30_000);
      const now = this.clock.now();
      // Taken or renewed within the last third of its term: still ours (it lapses only at its end), no write needed.
      if (!(now >= this.leaseAt && now - this.leaseAt < ttl / 3)) {
        if (!(await this.lease.acquire('forwarding', ttl))) {
          this.leaseAt = -Infinity;
          return null;
        }
        this.leaseAt = now;
      }
      report.ran = true;
      const due = await this.db.read((m) =>
        m.find(Delivery, {
          where: { state: 'pending', nextAttemptAt: LessThanOrEqual(now), ...(only ? { factory: only } : {}) },
          order: { createdAt: 'ASC' },
          take: BATCH,
        }),
      );
      // Rows of a factory whose send is in flight wait for that send to end.
      const busy = new Set<string>();
      const free = due.filter((d) => {
        if (!this.lanes.has(d.factory)) return true;
        busy.add(d.factory);
        return false;
      });
      const { keep: sendable, dropped } = await this.sendable.filter(free, now);
      report.dropped += dropped;
      const byFactory = new Map<string, Delivery[]>();
      for (const d of sendable) {
        const list = byFactory.get(d.factory);
        if (list) list.push(d);
        else byFactory.set(d.factory, [d]);
      }
      const sends = [...byFactory].map(([name, rows]) => {
        const laneReport: DrainReport = { ran: true, delivered: 0, refused: 0, dropped: 0, failed: 0 };
        const done = this.sendTo(name, rows, laneReport)
          .catch((err: unknown) => this.log.error({ err }, `delivering to factory ${name} failed`))
          .finally(() => {
            this.lanes.delete(name);
            addCounts(report, laneReport);
            if (this.afterLane.delete(name)) this.wake(this.coalesced());
          });
        this.lanes.set(name, { done, report: laneReport });
        return done;
      });
      return { sends, busy: [...busy], now, full: due.length === BATCH };
    });
    this.choosing = run.catch(() => undefined);
    return run;
  }

  private async sendTo(name: string, rows: Delivery[], report: DrainReport): Promise<void> {
    const factory = await this.db.read((m) => m.findOneBy(Factory, { name }));
    if (!factory) {
      // Rows a writer queued while the factory was being deleted: nobody to send them to.
      await this.db.tx((m) => m.delete(Delivery, { factory: name }));
      return;
    }
    const apiKey = Buffer.from(this.sealer.open(factory.sealedApiKey, factoryApiKeyAd(name))).toString('utf8');
    const recipient = Buffer.from(factory.publicKey, 'base64');
    const groupsOf = await servedGroups(this.db, rows, this.settings.config.gwms.frontend.groups);
    for (const chunk of envelopeBatches(rows)) {
      // Read per envelope: a rotation committed by any replica is used from the next one on.
      const { current, previous } = await this.identity.keyPairs('frontend');
      const sealedWith = Buffer.from(current.publicKey).toString('base64');
      let envelope;
      try {
        // During a transition, a factory that has not accepted the current key yet gets the previous key's proof for it.
        const proof = previous && factory.acceptedIdentityKey !== sealedWith ? previous : undefined;
        envelope = await sealEnvelope(this.bodyOf(chunk, groupsOf), current, recipient, proof);
      } finally {
        current.privateKey.fill(0);
        previous?.privateKey.fill(0);
      }
      try {
        const results = await this.client.deliver(factory.url, apiKey, envelope);
        this.metrics.attempts.inc({ factory: name, result: 'ok' });
        await this.acknowledge(chunk, results, report);
        // Its 200 says it opened an envelope sealed with this key: it pins it now (or followed to it).
        await this.transition
          .accepted(factory, sealedWith)
          .catch((err: unknown) => this.log.error({ err }, `recording the identity factory ${name} accepted failed; the next delivery records it`));
      } catch (err) {
        const code = err instanceof FactoryCallError ? err.code : 'INTERNAL';
        if (!(err instanceof FactoryCallError)) this.log.error({ err }, `delivering to factory ${name} failed`);
        this.metrics.attempts.inc({ factory: name, result: code });
        report.failed += chunk.length;
        await this.backOff(chunk, code);
        this.log.warn(`delivery of ${chunk.length} credential(s) to factory ${name} failed (${code}); retrying with backoff`);
        return; // the rest for this factory waits for the next attempt
      }
    }
  }

  /** A v1 body of credentials (opened from the outbox only now), or a v2 body of withdrawals. */
  private bodyOf(chunk: Delivery[], groupsOf: (d: Delivery) => string[] | undefined): EnvelopeBody {
    const header = { frontend: this.settings.config.frontend.name, id: this.random.uuid(), createdAt: this.clock.now() };
    if (chunk[0].kind === 'withdrawal') {
      return { v: 2, ...header, withdrawals: chunk.map((d) => ({ entry: d.entry, type: d.type, version: d.version, reason: d.reason as WithdrawalReason })) };
    }
    const credentials: EnvelopeCredential[] = chunk.map((d) => {
      const groups = groupsOf(d);
      return {
        entry: d.entry,
        type: d.type,
        version: d.version,
        expiresAt: Math.floor(d.expiresAt / 1000),
        value: Buffer.from(this.sealer.open(d.sealedValue!, deliveryAd(d.id))).toString('utf8'),
        ...(groups ? { groups } : {}),
      };
    });
    return { v: 1, ...header, credentials };
  }

  /** Marks rows by the factory's answer: stored, unchanged or withdrawn is delivered; refused ends the row with the factory's code. */
  private async acknowledge(
    chunk: Delivery[],
    results: { entry: string; type: string; version: number; result: string; code?: string }[],
    report: DrainReport,
  ): Promise<void> {
    const answer = new Map(results.map((r) => [`${r.entry}\0${r.type}\0${r.version}`, r]));
    const delivered: string[] = [];
    const refused = new Map<string, string[]>();
    const missing: Delivery[] = [];
    for (const d of chunk) {
      const r = answer.get(`${d.entry}\0${d.type}\0${d.version}`);
      if (!r) missing.push(d);
      else if (r.result === 'refused') refused.set(r.code ?? 'REFUSED', [...(refused.get(r.code ?? 'REFUSED') ?? []), d.id]);
      else delivered.push(d.id);
    }
    await this.db.tx(async (m) => {
      // Rows gone meanwhile (their factory deleted during the send) settle nothing and are audited nowhere.
      const settled = await this.outbox.settle(m, delivered, 'delivered', null);
      report.delivered += settled;
      for (const [code, ids] of refused) {
        const n = await this.outbox.settle(m, ids, 'refused', code.slice(0, 64));
        report.refused += n;
        if (n)
          await this.audit.record(m, {
            action: 'delivery.refused',
            target: `factory:${chunk[0].factory}`,
            result: 'failure',
            code: code.slice(0, 64),
            detail: { kind: chunk[0].kind, count: ids.length },
          });
      }
      // A withdrawal the factory applied is a security fact: when each factory stopped holding what.
      if (chunk[0].kind === 'withdrawal' && settled) {
        await this.audit.record(m, {
          action: 'delivery.withdrawal.ack',
          target: `factory:${chunk[0].factory}`,
          detail: {
            count: delivered.length,
            withdrawals: chunk
              .filter((d) => delivered.includes(d.id))
              .slice(0, 50)
              .map((d) => ({ entry: d.entry, type: d.type, version: d.version, reason: d.reason })),
          },
        });
      }
    });
    if (chunk[0].kind === 'withdrawal') for (const r of results) this.metrics.withdrawals.inc({ factory: chunk[0].factory, result: r.code ?? r.result });
    if (missing.length) await this.backOff(missing, 'NOT_ACKNOWLEDGED');
  }

  private async backOff(rows: Delivery[], code: string): Promise<void> {
    const { retryBaseSeconds, retryMaxSeconds } = this.settings.config.forwarding;
    const now = this.clock.now();
    await this.db.tx(async (m) => {
      for (const d of rows) {
        const attempts = d.attempts + 1;
        await m.update(
          Delivery,
          { id: d.id, state: 'pending' },
          {
            attempts,
            lastError: code.slice(0, 64),
            nextAttemptAt: now + backoffMs(attempts, retryBaseSeconds, retryMaxSeconds, () => this.random.fraction()),
            updatedAt: now,
          },
        );
      }
    });
  }

  /**
   * Wakes at the earliest pending retry, at most a tick away (the scheduler's tick is the fallback).
   * Rows of a factory whose send is in flight are left to the pass that started that send (it
   * plans again when the send ends) and to afterLane.
   */
  private async planNext(): Promise<void> {
    const busy = [...this.lanes.keys()];
    const next = await this.db.read((m) =>
      m.findOne(Delivery, {
        select: { nextAttemptAt: true },
        where: { state: 'pending', ...(busy.length ? { factory: Not(In(busy)) } : {}) },
        order: { nextAttemptAt: 'ASC' },
      }),
    );
    if (!next) return;
    const tick = this.settings.config.scheduler.tickSeconds * 1000;
    // Rows due already (queued during this pass) wait out the coalescing delay too.
    this.wake(Math.min(Math.max(next.nextAttemptAt - this.clock.now(), this.coalesced()), tick));
  }

  private async purgeSettled(now: number): Promise<void> {
    if (performance.now() - this.lastPurgeAt < PURGE_EVERY_MS) return;
    this.lastPurgeAt = performance.now();
    await this.db.tx((m) =>
      query(
        m,
        sql`DELETE FROM deliveries WHERE state <> 'pending' AND updated_at < ${now - RETAIN_MS} AND EXISTS (SELECT 1 FROM deliveries n WHERE n.factory = deliveries.factory AND n.entry = deliveries.entry AND n.type = deliveries.type AND n.version > deliveries.version)`,
      ),
    );
  }
}

function addCounts(into: DrainReport, r: DrainReport): void {
  for (const k of ['delivered', 'refused', 'dropped', 'failed'] as const) into[k] += r[k];
}
