import type { CollectorFilesChange } from '../collector/collector-files-change.js';

/**
 * What a committed change tells the rest of glidekey, by kind. Writers publish these inside their
 * transaction (EventBus.publish); subscribers get them only after the COMMIT, never on rollback.
 * Payloads name things (sites, jtis, row ids), never a secret.
 */
export interface EventMap {
  /** A site's signing keys changed (created, imported, rotated); `site` null: several sites' (grace ended). */
  'keys.changed': { site: string | null };
  /** Key rows that no longer sign (retired or deleted): their derived signing keys are forgotten. */
  'keys.retired': { keyIds: string[] };
  /** A site's policy changed. */
  'site.updated': { site: string };
  'site.deleted': { site: string; siteId: string };
  /** A site's current token was replaced (renewed) or withdrawn. */
  'current-token.changed': { site: string };
  /** Tokens were revoked, by jti or by a subject rule. */
  'revocations.changed': { jtis: string[]; subjects: string[] };
  /** A SciToken was stored, refreshed, revoked or deleted. */
  'scitoken.changed': { name: string; change: 'stored' | 'revoked' | 'deleted' };
  /** Rows were queued in a factory's outbox (deliveries or withdrawals). */
  'outbox.queued': { factory: string };
  /** The factory cache changed: credentials stored, or removed (withdrawn, or their entry deleted): the rows' keys. */
  'cache.changed': { stored: CacheRef[]; removed: CacheRef[] };
  /** API keys revoked inside another capability's transaction: the lookup cache forgets them. */
  'api-keys.retired': { ids: string[] };
  /** Files a collector reads changed on disk. Not transactional: emitted after the file write. */
  'collector.files': CollectorFilesChange;
}

export interface CacheRef {
  frontend: string;
  entry: string;
  type: 'idtoken' | 'scitoken';
}

export type EventKind = keyof EventMap;
export type DomainEvent = { [K in EventKind]: { kind: K; payload: EventMap[K] } }[EventKind];
