import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintNumber, msColumn } from '../database/columns.js';

import type { CredentialType } from '../protocol/credential-type.js';
export type { CredentialType };

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

  /** The frontend groups it serves, comma-separated (one cache file per group); null: `main`, as before groups travelled. */
  @Column({ type: 'varchar', length: 4200, nullable: true })
  groups!: string | null;
}

/** GlideinWMS's default frontend group: what a credential serves when its envelope names none. */
export const DEFAULT_GROUPS: readonly string[] = ['main'];

export const groupsOf = (c: Pick<CachedCredential, 'groups'>): string[] => (c.groups ? c.groups.split(',') : [...DEFAULT_GROUPS]);
/** The column value for a list of groups: null for the default, so rows from before groups stay as they were. */
export const groupsColumn = (groups: readonly string[] | undefined): string | null =>
  !groups || (groups.length === 1 && groups[0] === 'main') ? null : [...groups].join(',');

export const cachedCredentialAd = (c: Pick<CachedCredential, 'frontend' | 'entry' | 'type' | 'version'>) =>
  `cached-credential:${c.frontend}:${c.entry}:${c.type}:${c.version}`;
