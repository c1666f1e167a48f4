import { Column, Entity, PrimaryColumn } from 'typeorm';
import { msColumn } from '../database/columns.js';

/** A single-use glidein bootstrap ticket: only the SHA-256 of its secret is kept. */
@Entity('glidein_tickets')
export class Ticket {
  /** The public half of the ticket (16 hex): names it in the audit log without its secret. */
  @PrimaryColumn({ type: 'varchar', length: 16 })
  id!: string;

  /** SHA-256 (hex) of the 256-bit secret half. */
  @Column({ name: 'secret_hash', type: 'varchar', length: 64 })
  secretHash!: string;

  /** The request that issued it, so audit lines of issue and consumption can be joined. */
  @Column({ name: 'batch_id', type: 'varchar', length: 16 })
  batchId!: string;

  /** The registered frontend whose cached credentials the glidein receives. */
  @Column({ type: 'varchar', length: 128 })
  frontend!: string;

  @Column({ type: 'varchar', length: 128 })
  entry!: string;

  @Column(msColumn('created_at'))
  createdAt!: number;

  @Column(msColumn('expires_at'))
  expiresAt!: number;

  @Column(msColumn('consumed_at', true))
  consumedAt!: number | null;

  /** The client address that consumed it. */
  @Column({ name: 'consumed_by', type: 'varchar', length: 64, nullable: true })
  consumedBy!: string | null;

  /** When a stale-cache refusal of this ticket was last audited (one line per ticket per while, not per retry). */
  @Column(msColumn('stale_audited_at', true))
  staleAuditedAt!: number | null;
}
