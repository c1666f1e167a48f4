import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintNumber, msColumn } from '../database/columns.js';

export type CredentialType = 'idtoken' | 'scitoken';

/** A credential a frontend sent for one of this factory's entries: the newest version only, sealed. */
@Entity('cached_credentials')
export class CachedCredential {
  /** The registered frontend's name (not what the envelope claims). */
  @PrimaryColumn({ type: 'varchar', length: 128 })
  frontend!: string;

  @PrimaryColumn({ type: 'varchar', length: 128 })
  entry!: string;

  @PrimaryColumn({ type: 'varchar', length: 16 })
  type!: CredentialType;

  @Column({ type: 'bigint', transformer: bigintNumber })
  version!: number;

  /** Sealed with associated data cachedCredentialAd(...). */
  @Column({ name: 'sealed_value', type: 'text' })
  sealedValue!: string;

  /** Keyed fingerprint of the credential (Sealer.fingerprint), for admins to compare. */
  @Column({ type: 'varchar', length: 64 })
  fingerprint!: string;

  /** Unix milliseconds. */
  @Column(msColumn('expires_at'))
  expiresAt!: number;

  @Column(msColumn('received_at'))
  receivedAt!: number;

  @Column({ name: 'envelope_id', type: 'varchar', length: 36 })
  envelopeId!: string;
}

export const cachedCredentialAd = (c: Pick<CachedCredential, 'frontend' | 'entry' | 'type' | 'version'>) =>
  `cached-credential:${c.frontend}:${c.entry}:${c.type}:${c.version}`;
