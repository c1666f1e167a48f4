import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { Settings } from '../config/settings.js';
import { Db } from '../database/db.js';
import { base64KeyFingerprint as fp, IdentityService } from '../identity/identity.service.js';
import { Factory } from './factory.entity.js';
import { RunsAs } from '../common/request-context.js';

/**
 * The frontend's identity rotation as the factories see it. Rotating makes a new key pair current
 * and keeps the previous one; envelopes to a factory that has not yet accepted one under the new
 * key carry a key proof made with the previous key (DelivererService), and the factory follows.
 * The previous key is dropped once every registered factory has accepted the new one, or when
 * forwarding.identityTransitionSeconds have passed, whichever comes first.
 */
@Injectable()
export class IdentityTransitionService {
  private readonly log = new Logger('forwarding');

  constructor(
    private readonly db: Db,
    private readonly identity: IdentityService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly settings: Settings,
  ) {}

  /** POST /frontend/identity/rotate: one transaction, audited with both fingerprints. */
  async rotate(): Promise<{ fingerprint: string; previousFingerprint: string; rotatedAt: string }> {
    await this.identity.publicIdentity('frontend');
    const at = this.clock.now();
    const { from, to } = await this.db.tx(async (m) => {
      const keys = await this.identity.rotate(m, 'frontend');
      const factories = await m.count(Factory);
      await this.audit.record(m, {
        action: 'frontend.identity.rotate',
        target: 'identity:frontend',
        detail: { fromFingerprint: fp(keys.from), toFingerprint: fp(keys.to), factories },
      });
      return keys;
    });
    this.log.log(`frontend identity rotated to ${fp(to)}; envelopes carry a key proof until each factory has followed`);
    return { fingerprint: fp(to), previousFingerprint: fp(from), rotatedAt: new Date(at).toISOString() };
  }

  /**
   * Records that `factory` accepted an envelope sealed with `publicKey` (its 200 answer: it pins
   * that key now, or followed to it), then drops the previous key if it may go.
   */
  @RunsAs('system:forwarding')
  async accepted(factory: Factory, publicKey: string): Promise<void> {
    if (factory.acceptedIdentityKey === publicKey) return;
    const { transition } = await this.identity.state('frontend');
    await this.db.tx(async (m) => {
      // Deleted while the envelope was in flight: nothing to record, and nothing against a factory that is gone.
      if (!(await m.update(Factory, { name: factory.name }, { acceptedIdentityKey: publicKey })).affected) return;
      // During a transition, when each factory followed is what the admin needs to know.
      if (transition)
        await this.audit.record(m, {
          action: 'delivery.identity.accepted',
          target: `factory:${factory.name}`,
          detail: { fingerprint: fp(publicKey) },
        });
    });
    factory.acceptedIdentityKey = publicKey;
    if (transition) await this.settle();
  }

  /**
   * Ends the transition when it may end: every registered factory has accepted the current key, or
   * the transition has lasted forwarding.identityTransitionSeconds. Audited with the factories that
   * had not followed (their admins re-pin out of band). Every forwarding tick calls it.
   */
  @RunsAs('system:forwarding')
  async settle(): Promise<void> {
    const { publicKey, transition } = await this.identity.state('frontend');
    if (!transition) return;
    const limitMs = this.settings.config.forwarding.identityTransitionSeconds * 1000;
    const pending = await this.db.read((m) => m.find(Factory, { select: { name: true, acceptedIdentityKey: true }, order: { name: 'ASC' } }));
    const behind = pending.filter((f) => f.acceptedIdentityKey !== publicKey).map((f) => f.name);
    const expired = this.clock.now() >= transition.rotatedAt + limitMs;
    if (behind.length && !expired) return;
    const dropped = await this.db.tx(async (m) => {
      // Re-read in the transaction: a second rotation cannot happen while this one's previous key is kept.
      if (!(await this.identity.dropPrevious(m, 'frontend', transition.previousPublicKey))) return false;
      await this.audit.record(m, {
        action: 'frontend.identity.previous-drop',
        target: 'identity:frontend',
        detail: {
          fingerprint: fp(transition.previousPublicKey),
          reason: behind.length ? 'TRANSITION_EXPIRED' : 'ALL_FOLLOWED',
          notFollowed: behind.slice(0, 100),
        },
      });
      return true;
    });
    if (!dropped) return;
    if (behind.length)
      this.log.warn(
        `previous frontend identity ${fp(transition.previousPublicKey)} dropped after forwarding.identityTransitionSeconds; factories that never followed (re-pin them out of band): ${behind.join(', ')}`,
      );
    else this.log.log(`previous frontend identity ${fp(transition.previousPublicKey)} dropped: every factory has followed`);
  }
}
