import { Column, Entity, PrimaryColumn } from 'typeorm';
import { msColumn } from '../database/columns.js';

/** An envelope id the factory accepted: a second envelope with the same id is a replay. */
@Entity('seen_envelopes')
export class SeenEnvelope {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 128 })
  frontend!: string;

  @Column(msColumn('created_at'))
  createdAt!: number;

  @Column(msColumn('received_at'))
  receivedAt!: number;
}
