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
}

export const identityAd = (role: string) => `identity:${role}`;
