import { Injectable, OnModuleInit } from '@nestjs/common';
import { createHash } from 'node:crypto';
import sodium from 'libsodium-wrappers';
import { Clock } from '../common/clock.js';
import { Settings } from '../config/settings.js';
import { ServiceRole } from '../config/config.schema.js';
import { Sealer } from '../crypto/sealer.js';
import { Db } from '../database/db.js';
import { Identity, identityAd } from './identity.entity.js';

/** A public key's fingerprint, for admins to compare out of band: SHA-256, hex, in pairs. */
export const publicKeyFingerprint = (publicKey: Uint8Array) =>
  createHash('sha256').update(publicKey).digest('hex').match(/../g)!.join(':');

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
  async keyPair(role: ServiceRole): Promise<{ publicKey: Uint8Array; privateKey: Uint8Array }> {
    const row = await this.ensure(role);
    return { publicKey: Buffer.from(row.publicKey, 'base64'), privateKey: this.sealer.open(row.sealedPrivateKey, identityAd(role)) };
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
    });
    kp.privateKey.fill(0);
    await this.db.tx(async (m) => {
      // Replicas starting together: the first key pair written is the identity.
      await m.createQueryBuilder().insert().into(Identity).values(row).orIgnore().execute();
    });
    return (await this.db.read((m) => m.findOneBy(Identity, { role })))!;
  }
}
