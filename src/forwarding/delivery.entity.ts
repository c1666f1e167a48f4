import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintNumber, msColumn } from '../database/columns.js';
import type { CredentialType } from '../protocol/credential-type.js';

export const DELIVERY_STATES = ['pending', 'delivered', 'superseded', 'dropped', 'refused'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];
/** A credential to deliver, or the withdrawal of what the entry was last given. */
export const DELIVERY_KINDS = ['credential', 'withdrawal'] as const;
export type DeliveryKind = (typeof DELIVERY_KINDS)[number];

/**
 * One credential to deliver to one factory entry, or its withdrawal: the outbox. Written in the
 * same transaction as the change that produced it; a credential's value is sealed, and wiped once
 * the row is settled. Credentials and withdrawals share one version sequence per (factory, entry,
 * type): the newest row wins, whichever kind it is.
 */
@Entity('deliveries')
export class Delivery {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 128 }) factory!: string;
  @Column({ type: 'varchar', length: 128 }) entry!: string;
  @Column({ type: 'varchar', length: 16 }) type!: CredentialType;
  @Column({ type: 'varchar', length: 16, default: 'credential' }) kind!: DeliveryKind;
  /** A withdrawal's cause (SITE_DELETED, TOKEN_REVOKED, ...); null for a credential. */
  @Column({ type: 'varchar', length: 64, nullable: true }) reason!: string | null;
  /** The site (idtoken) or the SciToken's name. */
  @Column({ type: 'varchar', length: 128 }) source!: string;
  /** Which credential of the source: the token's jti, or the SciToken's fingerprint. */
  @Column({ name: 'source_ref', type: 'varchar', length: 64 }) sourceRef!: string;
  /** The signing key row of an IDTOKEN: a token of a retired key is never sent. */
  @Column({ name: 'key_id', type: 'varchar', length: 36, nullable: true }) keyId!: string | null;
  /** Increases per (factory, entry, type); the factory keeps only newer versions. */
  @Column({ type: 'bigint', transformer: bigintNumber }) version!: number;
  /** The credential's expiry, Unix milliseconds (a withdrawal: the withdrawn credential's, informative only). */
  @Column(msColumn('expires_at')) expiresAt!: number;
  /** Sealed with associated data deliveryAd(id); null once the row is settled, and always for a withdrawal. */
  @Column({ name: 'sealed_value', type: 'text', nullable: true }) sealedValue!: string | null;
  @Column({ type: 'varchar', length: 16 }) state!: DeliveryState;
  @Column({ type: 'integer', default: 0 }) attempts!: number;
  @Column(msColumn('next_attempt_at')) nextAttemptAt!: number;
  /** The last failure (an error code), or why the row was dropped or refused. */
  @Column({ name: 'last_error', type: 'varchar', length: 64, nullable: true }) lastError!: string | null;
  @Column(msColumn('created_at')) createdAt!: number;
  @Column(msColumn('updated_at')) updatedAt!: number;
  @Column(msColumn('delivered_at', true)) deliveredAt!: number | null;
}

export const deliveryAd = (id: string) => `delivery:${id}`;
