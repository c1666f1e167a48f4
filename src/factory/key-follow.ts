import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { Principal } from '../auth/principal.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/errors.js';
import { Db } from '../database/db.js';
import { Envelope, verifyKeyProof } from '../protocol/envelope.js';
import { base64KeyFingerprint as fp } from '../identity/identity.service.js';
import { RegisteredFrontend } from './registered-frontend.entity.js';
import { RetiredFrontendKey } from './retired-frontend-key.entity.js';

/** A re-pin an envelope asks for: from the pinned key to the one that sealed it, for the envelope created at `createdAt`. */
export interface Follow {
  from: string;
  to: string;
  createdAt: number;
}

/**
 * Which registered frontend sent an envelope, and whether it asks the factory to follow it to a
 * new key. An envelope sealed with the pinned key needs nothing more (a key proof it carries is
 * ignored). One sealed with another key is taken only with a key proof (v: 2) that opens with the
 * pinned key and names this envelope; the re-pin then happens in the intake's transaction. A key
 * this factory already followed away from is never pinned again, and an envelope sealed with one
 * is refused: old envelopes cannot roll the factory back.
 */
@Injectable()
export class FrontendKeyFollow {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  async resolve(who: Principal, env: Envelope, recipientPrivateKey: Uint8Array): Promise<{ frontend: RegisteredFrontend; follow: Follow | null }> {
    const pinned = await this.db.read((m) => m.findOneBy(RegisteredFrontend, { publicKey: env.from }));
    if (pinned) return { frontend: this.presentedBy(pinned, who), follow: null };
    const frontend = env.v === 2 ? await this.db.read((m) => m.findOneBy(RegisteredFrontend, { publicKey: env.keyProof.previous })) : null;
    const retired = await this.db.read((m) => m.findOneBy(RetiredFrontendKey, { publicKey: env.from, ...(frontend ? { frontend: frontend.name } : {}) }));
    if (retired)
      throw new DomainError(
        'ENVELOPE_KEY_RETIRED',
        'the envelope is sealed with a key this factory has followed its frontend away from (an identity rotation)',
      );
    if (!frontend || env.v !== 2) throw new DomainError('ENVELOPE_UNKNOWN_SENDER', 'the envelope is sealed by a key no registered frontend holds');
    this.presentedBy(frontend, who);
    const createdAt = await verifyKeyProof(env, Buffer.from(frontend.publicKey, 'base64'), recipientPrivateKey);
    return { frontend, follow: { from: frontend.publicKey, to: env.from, createdAt } };
  }

  /** In the intake's transaction: re-pins the frontend's key, keeps the old one as retired, audits both fingerprints. */
  async apply(m: EntityManager, frontend: string, follow: Follow, envelope: string): Promise<void> {
    const res = await m.update(RegisteredFrontend, { name: frontend, publicKey: follow.from }, { publicKey: follow.to });
    if (!res.affected) {
      // Two envelopes of the same rotation racing: the first re-pinned, this one finds it done.
      const now = await m.findOneBy(RegisteredFrontend, { name: frontend });
      if (now?.publicKey === follow.to) return;
      throw new DomainError('ENVELOPE_UNKNOWN_SENDER', `the key pinned for frontend ${frontend} changed while this envelope was being opened`);
    }
    await m
      .createQueryBuilder()
      .insert()
      .into(RetiredFrontendKey)
      .values({ frontend, publicKey: follow.from, successorKey: follow.to, retiredAt: this.clock.now() })
      .orIgnore()
      .execute();
    await this.audit.record(m, {
      action: 'factory.frontend.key-follow',
      target: `frontend:${frontend}`,
      detail: { fromFingerprint: fp(follow.from), toFingerprint: fp(follow.to), envelope },
    });
  }

  private presentedBy(frontend: RegisteredFrontend, who: Principal): RegisteredFrontend {
    if (frontend.apiKeyId !== who.id) throw new DomainError('ENVELOPE_SENDER_MISMATCH', "this API key belongs to another frontend than the envelope's sender");
    return frontend;
  }
}
