import { Column, Entity, PrimaryColumn } from 'typeorm';
import { msColumn } from '../database/columns.js';

/** Who runs a scheduled job now; replicas sharing a database take turns through it. */
@Entity('leases')
export class Lease {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name!: string;

  @Column({ type: 'varchar', length: 64 })
  holder!: string;

  @Column(msColumn('expires_at'))
  expiresAt!: number;
}
