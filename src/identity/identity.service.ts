import { Injectable, OnModuleInit } from '@nestjs/common';
import { createHash } from 'node:crypto';
import sodium from 'libsodium-wrappers';
import { Clock } from '../common/clock.js';
import { Settings } from '../config/settings.js';
import { ServiceRole } from '../config/config.schema.js';
import { Sealer } from '../crypto/sealer.js';
import { Db } from '../database/db.js';
import { EntityManager } from 'typeorm';
import { DomainError } from '../common/errors.js';
import { Identity, identityAd, previousIdentityAd } from './identity.entity.js';

export interface KeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/** A rotation's transition: the previous public key and since when the current one replaced it. */
export interface Transition {
  previousPublicKey: string;
  rotatedAt: number;
}

/** A public key's fingerprint, for admins to compare out of band: SHA-256, hex, in pairs. */
export const publicKeyFingerprint = (publicKey: Uint8Array) => createHash('sha256').update(publicKey).digest('hex').match(/../g)!.join(':');

/** The fingerprint of a base64 public key as stored in rows and envelopes. */
export const base64KeyFingerprint = (b64: string) => publicKeyFingerprint(Buffer.from(b64, 'base64'));

/**
 * Each enabled role's X25519 key pair, created at first start. The private key is sealed at rest
 * and opened only to seal or open a credential envelope.
 */
@Injectable()
export class IdentityService implements OnModuleInit {
  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
    private readonly clock: Clock,
    private readonly settings: Settings,
  ) {}

  async onModuleInit(): Promise<void> {
    await sodium.ready;
    for (const role of this.settings.config.roles) await this.ensure(role);
  }

  /** The role's public key and fingerprint. */
  async publicIdentity(role: ServiceRole): Promise<{ publicKey: string; fingerprint: string }> {
    const row = await this.ensure(role);
    return { publicKey: row.publicKey, fingerprint: publicKeyFingerprint(Buffer.from(row.publicKey, 'base64')) };
  }

  /** The role's key pair; the caller wipes the private key after use. */
  async keyPair(role: ServiceRole): Promise<KeyPair> {
    return (await this.keyPairs(role)).current;
  }

  /**
   * The current key pair and, during a transition, the previous one, read together from the
   * database (every replica seals with what the last committed rotation made current). The caller
   * wipes the private keys after use.
   */
  async keyPairs(role: ServiceRole): Promise<{ current: KeyPair; previous: KeyPair | null }> {
    const row = await this.ensure(role);
    const current = { publicKey: Buffer.from(row.publicKey, 'base64'), privateKey: this.sealer.open(row.sealedPrivateKey, identityAd(role)) };
    if (!row.previousPublicKey || !row.sealedPreviousPrivateKey) return { current, previous: null };
    const previous = {
      publicKey: Buffer.from(row.previousPublicKey, 'base64'),
      privateKey: this.sealer.open(row.sealedPreviousPrivateKey, previousIdentityAd(role, row.previousPublicKey)),
    };
    return { current, previous };
  }

  /** The role's public key, and its transition if one is under way. */
  async state(role: ServiceRole, m?: EntityManager): Promise<{ publicKey: string; transition: Transition | null }> {
    const row = m ? await m.findOneByOrFail(Identity, { role }) : await this.ensure(role);
    const transition = row.previousPublicKey && row.rotatedAt !== null ? { previousPublicKey: row.previousPublicKey, rotatedAt: row.rotatedAt } : null;
    return { publicKey: row.publicKey, transition };
  }

  /**
   * In the caller's transaction: a new key pair becomes current and the current one becomes the
   * previous one (sealed, bound to its public key). One conditional update, so two replicas or two
   * admins rotating at once make one rotation and one 409. Refused while a transition is under way:
   * a third key would leave the factories that still pin the oldest with no proof they can check.
   */
  async rotate(m: EntityManager, role: ServiceRole): Promise<{ from: string; to: string }> {
    // The row exists: onModuleInit made it for every enabled role.
    const row = await m.findOneByOrFail(Identity, { role });
    if (row.previousPublicKey) {
      throw new DomainError(
        'IDENTITY_TRANSITION_PENDING',
        'the previous identity key is still kept for factories that have not followed; it is dropped once every factory has, or when forwarding.identityTransitionSeconds have passed',
      );
    }
    const old = this.sealer.open(row.sealedPrivateKey, identityAd(role));
    const kp = sodium.crypto_box_keypair();
    const publicKey = Buffer.from(kp.publicKey).toString('base64');
    try {
      const res = await m.update(
        Identity,
        { role, publicKey: row.publicKey },
        {
          publicKey,
          sealedPrivateKey: this.sealer.seal(kp.privateKey, identityAd(role)),
          previousPublicKey: row.publicKey,
          sealedPreviousPrivateKey: this.sealer.seal(old, previousIdentityAd(role, row.publicKey)),
          rotatedAt: this.clock.now(),
        },
      );
      if (!res.affected) throw new DomainError('CONFLICT', 'the identity was rotated concurrently; read it again');
    } finally {
      old.fill(0);
      kp.privateKey.fill(0);
    }
    return { from: row.publicKey, to: publicKey };
  }

  /** In the caller's transaction: forgets the previous key pair if it is still `previousPublicKey`; false if it was already gone. */
  async dropPrevious(m: EntityManager, role: ServiceRole, previousPublicKey: string): Promise<boolean> {
    const res = await m.update(Identity, { role, previousPublicKey }, { previousPublicKey: null, sealedPreviousPrivateKey: null });
    return Boolean(res.affected);
  }

  private async ensure(role: ServiceRole): Promise<Identity> {
    const existing = await this.db.read((m) => m.findOneBy(Identity, { role }));
    if (existing) return existing;
    const kp = sodium.crypto_box_keypair();
    const row = Object.assign(new Identity(), {
      role,
      publicKey: Buffer.from(kp.publicKey).toString('base64'),
      sealedPrivateKey: this.sealer.seal(kp.privateKey, identityAd(role)),
      createdAt: this.clock.now(),
      previousPublicKey: null,
      sealedPreviousPrivateKey: null,
      rotatedAt: null,
    });
    kp.privateKey.fill(0);
    await this.db.tx(async (m) => {
      // Replicas starting together: the first key pair written is the identity.
      await m.createQueryBuilder().insert().into(Identity).values(row).orIgnore().execute();
    });
    return (await this.db.read((m) => m.findOneBy(Identity, { role })))!;
  }
}
