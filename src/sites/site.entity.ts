import { Column, Entity, PrimaryColumn } from 'typeorm';
import { msColumn } from '../database/columns.js';
import type { SiteRecord } from './sites.types.js';

@Entity('sites')
export class Site implements SiteRecord {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** The Glidein_Site name: the token's kid and the passwords.d file name. */
  @Column({ type: 'varchar', length: 128, unique: true })
  name!: string;

  @Column({ type: 'varchar', length: 255 })
  issuer!: string;

  @Column({ type: 'varchar', length: 255 })
  identity!: string;

  /** Space-separated HTCondor authorization levels: the widest a token of this site may carry. */
  @Column({ type: 'varchar', length: 255 })
  scopes!: string;

  @Column({ name: 'lifetime_seconds', type: 'integer' })
  lifetimeSeconds!: number;

  @Column({ name: 'max_lifetime_seconds', type: 'integer' })
  maxLifetimeSeconds!: number;

  @Column({ name: 'rotation_enabled', type: 'boolean' })
  rotationEnabled!: boolean;

  @Column({ name: 'rotation_interval_seconds', type: 'integer', nullable: true })
  rotationIntervalSeconds!: number | null;

  @Column({ name: 'rotation_cron', type: 'varchar', length: 128, nullable: true })
  rotationCron!: string | null;

  @Column({ name: 'rotation_grace_seconds', type: 'integer' })
  rotationGraceSeconds!: number;

  @Column({ name: 'key_version', type: 'integer' })
  keyVersion!: number;

  /** Bumped by every change; conditional updates on it keep two writers apart. */
  @Column({ name: 'row_version', type: 'integer' })
  rowVersion!: number;

  @Column(msColumn('created_at'))
  createdAt!: number;

  @Column(msColumn('updated_at'))
  updatedAt!: number;

  @Column(msColumn('rotated_at'))
  rotatedAt!: number;

  /** The GlideinWMS frontend groups whose tokens.d files hold this site's token, comma-separated; null: gwms.frontend.groups. */
  @Column({ name: 'gwms_groups', type: 'varchar', length: 1024, nullable: true })
  gwmsGroups!: string | null;

  /** When the policy next makes the key due (null: rotation off); kept with every change, indexed. */
  @Column(msColumn('next_rotation_at', true))
  nextRotationAt!: number | null;
}
