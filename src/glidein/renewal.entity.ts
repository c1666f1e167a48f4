import { Column, Entity, PrimaryColumn } from 'typeorm';
import { msColumn } from '../database/columns.js';

/**
 * One bootstrapped glidein's renewal credential: only SHA-256 of its current secret is kept, and of
 * the one it replaced (taken again only within the grace, while the current one was never used).
 */
@Entity('glidein_renewals')
export class GlideinRenewal {
  /** The public half (16 hex): names the glidein in the audit log and in admin revocations; stays across rotations. */
  @PrimaryColumn({ type: 'varchar', length: 16 })
  id!: string;

  @Column({ name: 'secret_hash', type: 'varchar', length: 64 })
  secretHash!: string;

  /** The secret the current one replaced; null once it can never be taken again. */
  @Column({ name: 'previous_hash', type: 'varchar', length: 64, nullable: true })
  previousHash!: string | null;

  /** When the current secret replaced the previous one (the grace runs from here). */
  @Column(msColumn('rotated_at', true))
  rotatedAt!: number | null;

  /** Renewals so far. */
  @Column({ type: 'integer', default: 0 })
  generation!: number;

  /** How the glidein bootstrapped: with a ticket, or with its entry's factory-shipped IDTOKEN (TokenBootstrap). */
  @Column({ type: 'varchar', length: 16, default: 'ticket' })
  bootstrap!: 'ticket' | 'token';

  /**
   * The ticket the glidein bootstrapped with, and its batch; for a token bootstrap both are the id
   * of the IDTOKEN version it presented (idtoken_versions), so revoking that batch ends every chain
   * the version started.
   */
  @Column({ name: 'ticket_id', type: 'varchar', length: 16 })
  ticketId!: string;

  @Column({ name: 'batch_id', type: 'varchar', length: 16 })
  batchId!: string;

  @Column({ type: 'varchar', length: 128 })
  frontend!: string;

  @Column({ type: 'varchar', length: 128 })
  entry!: string;

  @Column(msColumn('created_at'))
  createdAt!: number;

  /** The end of the pilot's life as set at bootstrap: no renewal after it. */
  @Column(msColumn('expires_at'))
  expiresAt!: number;

  @Column(msColumn('renewed_at', true))
  renewedAt!: number | null;

  /** The client address of the last renewal. */
  @Column({ name: 'renewed_by', type: 'varchar', length: 64, nullable: true })
  renewedBy!: string | null;

  @Column(msColumn('revoked_at', true))
  revokedAt!: number | null;
}
