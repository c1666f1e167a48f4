import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintNumber, msColumn } from '../database/columns.js';

/**
 * One recently cached IDTOKEN version of one frontend for one entry, kept for the token bootstrap
 * (entries with glideinBootstrap 'token'): only SHA-256 of the exact token, never the token.
 * The newest few versions per frontend and entry stay while unexpired, so a glidein that was
 * submitted with the previous one still bootstraps.
 */
@Entity('idtoken_versions')
export class IdtokenVersion {
  /** 16 hex, random: names the version in the audit log and is the batch of the renewal chains it started. */
  @PrimaryColumn({ type: 'varchar', length: 16 })
  id!: string;

  @Column({ type: 'varchar', length: 128 })
  frontend!: string;

  @Column({ type: 'varchar', length: 128 })
  entry!: string;

  @Column({ type: 'bigint', transformer: bigintNumber })
  version!: number;

  @Column({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash!: string;

  @Column(msColumn('expires_at'))
  expiresAt!: number;

  @Column(msColumn('received_at'))
  receivedAt!: number;

  /** Renewal chains this version started. */
  @Column({ type: 'integer', default: 0 })
  bootstraps!: number;
}
