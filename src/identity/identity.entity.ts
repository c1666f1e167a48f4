import { Column, Entity, PrimaryColumn } from 'typeorm';
import { msColumn } from '../database/columns.js';

/** A role's X25519 key pair: the public key in the clear, the private key sealed (AD `identity:<role>`). */
@Entity('identities')
export class Identity {
  @PrimaryColumn({ type: 'varchar', length: 16 })
  role!: 'frontend' | 'factory';

  /** base64. */
  @Column({ name: 'public_key', type: 'varchar', length: 64 })
  publicKey!: string;

  @Column({ name: 'sealed_private_key', type: 'text' })
  sealedPrivateKey!: string;

  @Column(msColumn('created_at'))
  createdAt!: number;

  /** During a rotation's transition: the key pair before the current one (base64; private key sealed, previousIdentityAd). */
  @Column({ name: 'previous_public_key', type: 'varchar', length: 64, nullable: true })
  previousPublicKey!: string | null;

  @Column({ name: 'sealed_previous_private_key', type: 'text', nullable: true })
  sealedPreviousPrivateKey!: string | null;

  /** When the current key pair replaced the previous one (null: never rotated). */
  @Column(msColumn('rotated_at', true))
  rotatedAt!: number | null;
}

export const identityAd = (role: string) => `identity:${role}`;
/** Bound to the public key too: a sealed previous key cannot be swapped for another one. */
export const previousIdentityAd = (role: string, publicKey: string) => `identity:${role}:previous:${publicKey}`;
