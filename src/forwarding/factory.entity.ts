import { Column, Entity, PrimaryColumn } from 'typeorm';
import { msColumn } from '../database/columns.js';

/** A factory this frontend forwards to: where, its pinned public key, and the API key it gave us (sealed). */
@Entity('factories')
export class Factory {
  @PrimaryColumn({ type: 'varchar', length: 128 })
  name!: string;

  @Column({ type: 'varchar', length: 512 })
  url!: string;

  /** X25519, base64, pinned at registration. */
  @Column({ name: 'public_key', type: 'varchar', length: 64 })
  publicKey!: string;

  /** Sealed with associated data `factory-api-key:<name>`. */
  @Column({ name: 'sealed_api_key', type: 'text' })
  sealedApiKey!: string;

  @Column(msColumn('created_at'))
  createdAt!: number;

  @Column(msColumn('updated_at'))
  updatedAt!: number;

  /** Bumped by every change; PATCH may name the version it read (409 STALE_VERSION otherwise). */
  @Column({ name: 'row_version', type: 'integer', default: 1 })
  rowVersion!: number;

  /** When its entries were last read, and why the last read failed (an error code and a short reason). */
  @Column(msColumn('synced_at', true))
  syncedAt!: number | null;

  @Column({ name: 'sync_error', type: 'varchar', length: 255, nullable: true })
  syncError!: string | null;

  /** Our identity public key under which it last accepted an envelope (base64): once it is the current one, no key proof is sent. */
  @Column({ name: 'accepted_identity_key', type: 'varchar', length: 64, nullable: true })
  acceptedIdentityKey!: string | null;
}

export const factoryApiKeyAd = (name: string) => `factory-api-key:${name}`;
