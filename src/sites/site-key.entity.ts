import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { msColumn } from '../database/columns.js';

import type { KeySource, KeyState, SiteKeyRecord } from './sites.types.js';

export type { KeySource, KeyState };

/** One version of a site's signing key (an HTCondor "pool password"), sealed at rest. */
@Entity('site_keys')
@Index('site_keys_site_version', ['siteId', 'version'], { unique: true })
export class SiteKey implements SiteKeyRecord {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'site_id', type: 'varchar', length: 36 })
  siteId!: string;

  @Column({ type: 'integer' })
  version!: number;

  /** The HTCondor key name: the token header's kid and the file name in passwords.d. */
  @Index('site_keys_kid')
  @Column({ type: 'varchar', length: 160 })
  kid!: string;

  @Column({ type: 'varchar', length: 16 })
  state!: KeyState;

  /** The raw password bytes, sealed with associated data `site-key:<site id>:<version>`. */
  @Column({ name: 'sealed_key', type: 'text' })
  sealedKey!: string;

  @Column({ type: 'varchar', length: 64 })
  fingerprint!: string;

  @Column({ type: 'varchar', length: 16 })
  source!: KeySource;

  @Column({ name: 'key_length', type: 'integer' })
  keyLength!: number;

  @Column(msColumn('created_at'))
  createdAt!: number;

  @Column(msColumn('grace_until', true))
  graceUntil!: number | null;

  @Column(msColumn('retired_at', true))
  retiredAt!: number | null;
}

/** The associated data that binds a sealed key to its row. */
export const siteKeyAd = (siteId: string, version: number) => `site-key:${siteId}:${version}`;
