import { Injectable } from '@nestjs/common';
import { EntityManager, In } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import type { WithdrawalsBody } from '../protocol/envelope.js';
import { EventBus } from '../events/event-bus.js';
import { CacheRef } from '../events/events.js';
import { DomainError } from '../common/errors.js';
import { CachedCredential } from './cached-credential.entity.js';
import { forgetIdtokenVersions } from './idtoken-versions.store.js';
import { FactoryEntry } from './entry.entity.js';
import { RegisteredFrontend } from './registered-frontend.entity.js';
import { WithdrawnCredential } from './withdrawn-credential.entity.js';
import { chunks, rowLock } from '../database/sql.js';

/** What became of one item of an accepted envelope. */
export type IntakeResult = 'stored' | 'unchanged' | 'withdrawn' | 'refused';
/** Why one item of an authentic envelope was not taken. */
export type RefusalCode = 'CREDENTIAL_OLDER' | 'CREDENTIAL_EXPIRED' | 'ENTRY_NOT_FOUND';

export interface CredentialOutcome {
  entry: string;
  type: 'idtoken' | 'scitoken';
  version: number;
  result: IntakeResult;
  code?: RefusalCode;
}

/** The entries that exist, and what one frontend's cache and tombstones hold for them, by `entry\0type`. */
export async function heldFor(m: EntityManager, frontend: string, entryNames: string[]) {
  // Deleted since its envelope was opened: nothing of it is stored again (FOR SHARE waits for a DELETE in flight).
  if (!(await m.findOne(RegisteredFrontend, { select: { name: true }, where: { name: frontend }, ...rowLock(m, 'share') })))
    throw new DomainError('ENVELOPE_UNKNOWN_SENDER', "the envelope's sender is no longer a registered frontend");
  const names = [...new Set(entryNames)];
  const entries = new Set<string>();
  const held = new Map<string, CachedCredential>();
  const tombs = new Map<string, WithdrawnCredential>();
  for (const slice of chunks(names)) {
    for (const e of await m.find(FactoryEntry, { select: { name: true }, where: { name: In(slice) } })) entries.add(e.name);
    for (const c of await m.find(CachedCredential, { where: { frontend, entry: In(slice) } })) held.set(`${c.entry}\0${c.type}`, c);
    for (const w of await m.find(WithdrawnCredential, { where: { frontend, entry: In(slice) } })) tombs.set(`${w.entry}\0${w.type}`, w);
  }
  return { entries, held, tombs };
}

/**
 * Applies a frontend's withdrawals (a v2 envelope), in the intake's transaction. A withdrawal newer
 * than the cached credential removes it (row and sealed value; its file follows the commit through
 * `cache.changed`) and leaves a tombstone of its version, which GET /factory/cache shows as
 * `withdrawn` and which refuses any delivery up to that version. A withdrawal of something never
 * held is acknowledged `unchanged` (and still leaves the tombstone, so an older copy still in
 * flight cannot land); one older than the cached credential is refused CREDENTIAL_OLDER.
 */
@Injectable()
export class WithdrawalIntake {
  constructor(
    private readonly audit: AuditService,
    private readonly events: EventBus,
  ) {}

  async apply(m: EntityManager, frontend: string, body: WithdrawalsBody, now: number): Promise<CredentialOutcome[]> {
    const { entries, held, tombs } = await heldFor(
      m,
      frontend,
      body.withdrawals.map((w) => w.entry),
    );
    const out: CredentialOutcome[] = [];
    const removed: CacheRef[] = [];
    const audited: { entry: string; type: string; version: number; reason: string; result: IntakeResult }[] = [];
    for (const w of body.withdrawals) {
      const base = { entry: w.entry, type: w.type, version: w.version };
      const key = `${w.entry}\0${w.type}`;
      const have = held.get(key);
      const tomb = tombs.get(key);
      let result: IntakeResult;
      if (!entries.has(w.entry) || (tomb && tomb.version >= w.version)) {
        // No such entry (its cache went with it), or already withdrawn at this version or later.
        result = 'unchanged';
      } else if (have && have.version >= w.version) {
        out.push({ ...base, result: 'refused', code: 'CREDENTIAL_OLDER' });
        await this.audit.record(m, {
          action: 'factory.credential.refuse',
          target: `entry:${w.entry}`,
          result: 'failure',
          code: 'CREDENTIAL_OLDER',
          detail: { frontend, type: w.type, version: w.version, heldVersion: have.version, withdrawal: true, envelope: body.id },
        });
        continue;
      } else {
        if (have) {
          await m.delete(CachedCredential, { frontend, entry: w.entry, type: w.type });
          held.delete(key);
          removed.push({ frontend, entry: w.entry, type: w.type });
        }
        // A withdrawn IDTOKEN (and every version before it) no longer bootstraps a glidein.
        if (w.type === 'idtoken') await forgetIdtokenVersions(m, { frontend, entry: w.entry, upTo: w.version });
        const row = Object.assign(new WithdrawnCredential(), {
          frontend,
          entry: w.entry,
          type: w.type,
          version: w.version,
          reason: w.reason,
          withdrawnAt: now,
          envelopeId: body.id,
        });
        await m.save(WithdrawnCredential, row);
        tombs.set(key, row);
        result = have ? 'withdrawn' : 'unchanged';
      }
      out.push({ ...base, result });
      audited.push({ ...base, reason: w.reason, result });
    }
    const count = (r: IntakeResult) => out.filter((o) => o.result === r).length;
    await this.audit.record(m, {
      action: 'factory.credentials.withdraw',
      target: `frontend:${frontend}`,
      detail: { envelope: body.id, withdrawn: count('withdrawn'), unchanged: count('unchanged'), refused: count('refused'), withdrawals: audited.slice(0, 50) },
    });
    if (removed.length) this.events.publish(m, 'cache.changed', { stored: [], removed });
    return out;
  }
}
