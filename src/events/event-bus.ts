import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Db } from '../database/db.js';
import { DomainEvent, EventKind, EventMap } from './events.js';

type Handler<K extends EventKind> = (payload: EventMap[K]) => Promise<void> | void;

/** Files a collector reads (10) before the renewer mints (20) before the outbox's deliverer (30); the rest after. */
export const ORDER = { files: 10, renewal: 20, delivery: 30, default: 50 } as const;

/**
 * The one way effects leave a transaction. A writer publishes typed events on its transaction's
 * EntityManager; Db hands them over only once that transaction committed (a rollback drops them),
 * and the writer's caller gets its answer after every subscriber has run. Subscribers register
 * themselves (`on`), in order; one's failure is logged and never reaches the writer or the other
 * subscribers: the change is committed, and the periodic jobs repair any drift.
 */
@Injectable()
export class EventBus {
  private readonly log = new Logger('events');
  private readonly handlers = new Map<EventKind, { order: number; handler: Handler<EventKind> }[]>();

  constructor(private readonly db: Db) {
    db.afterCommit((events) => this.deliver(events));
  }

  /** Subscribes to one kind of event; lower `order` runs first. */
  on<K extends EventKind>(kind: K, handler: Handler<K>, order: number = ORDER.default): void {
    const list = this.handlers.get(kind) ?? [];
    list.push({ order, handler: handler as Handler<EventKind> });
    list.sort((a, b) => a.order - b.order);
    this.handlers.set(kind, list);
  }

  /** Publishes an event of the transaction `m` belongs to: delivered after its COMMIT, never on rollback. */
  publish<K extends EventKind>(m: EntityManager, kind: K, payload: EventMap[K]): void {
    this.db.publish(m, { kind, payload } as DomainEvent);
  }

  /** For effects outside any transaction (a file written): delivered now. */
  emit<K extends EventKind>(kind: K, payload: EventMap[K]): Promise<void> {
    return this.deliver([{ kind, payload } as DomainEvent]);
  }

  private async deliver(published: DomainEvent[]): Promise<void> {
    // The same event published twice in one transaction is delivered once.
    const events = [...new Map(published.map((e) => [`${e.kind}\0${JSON.stringify(e.payload)}`, e])).values()];
    // All handlers of all events, in subscriber order; an event kind's handlers see its events in publication order.
    const runs = events.flatMap((e, i) => (this.handlers.get(e.kind) ?? []).map((h) => ({ ...h, i, e })));
    runs.sort((a, b) => a.order - b.order || a.i - b.i);
    for (const { handler, e } of runs) {
      try {
        await handler(e.payload);
      } catch (err) {
        this.log.error({ err }, `a subscriber of ${e.kind} failed; the periodic jobs repair what it left`);
      }
    }
  }
}
