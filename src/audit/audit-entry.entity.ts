import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { msColumn } from '../database/columns.js';

/** One line of the append-only audit log (UPDATE and DELETE are refused by database triggers). */
@Entity('audit_log')
export class AuditEntry {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column(msColumn('at'))
  at!: number;

  @Column({ type: 'varchar', length: 128 })
  actor!: string;

  @Column({ type: 'varchar', length: 64 })
  action!: string;

  @Column({ type: 'varchar', length: 255, nullable: true })
  target!: string | null;

  @Column({ type: 'varchar', length: 16 })
  result!: 'success' | 'failure' | 'denied';

  @Column({ type: 'varchar', length: 64, nullable: true })
  code!: string | null;

  @Column({ name: 'request_id', type: 'varchar', length: 64, nullable: true })
  requestId!: string | null;

  /** JSON of non-secret details. */
  @Column({ type: 'text', nullable: true })
  detail!: string | null;
}
