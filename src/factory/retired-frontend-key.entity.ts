import { Column, Entity, PrimaryColumn } from 'typeorm';
import { msColumn } from '../database/columns.js';

/**
 * A public key this factory followed a frontend away from (by a key proof). A key proof never
 * pins it again: whoever holds old envelopes, or an old key, cannot roll the factory back.
 */
@Entity('retired_frontend_keys')
export class RetiredFrontendKey {
  @PrimaryColumn({ type: 'varchar', length: 128 })
  frontend!: string;

  /** X25519, base64. */
  @PrimaryColumn({ name: 'public_key', type: 'varchar', length: 64 })
  publicKey!: string;

  /** The key followed to. */
  @Column({ name: 'successor_key', type: 'varchar', length: 64 })
  successorKey!: string;

  @Column(msColumn('retired_at'))
  retiredAt!: number;
}
