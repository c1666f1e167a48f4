import { Column, Entity, PrimaryColumn } from 'typeorm';
import { msColumn } from '../database/columns.js';

/** Revokes every token of a subject issued at or before a time; dropped once those could all have expired. */
@Entity('subject_revocations')
export class SubjectRevocation {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 255 })
  subject!: string;

  /** Unix seconds: tokens with iat <= this are revoked. */
  @Column({ name: 'issued_before', type: 'bigint', transformer: { to: (v: number) => v, from: (v: string | number) => Number(v) } })
  issuedBefore!: number;

  @Column(msColumn('expires_at'))
  expiresAt!: number;

  @Column(msColumn('created_at'))
  createdAt!: number;

  @Column({ name: 'created_by', type: 'varchar', length: 128 })
  createdBy!: string;
}
