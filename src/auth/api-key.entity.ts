import { Column, Entity, PrimaryColumn } from 'typeorm';
import { msColumn } from '../database/columns.js';

@Entity('api_keys')
export class ApiKey {
  @PrimaryColumn({ type: 'varchar', length: 16 })
  id!: string;

  @Column({ type: 'varchar', length: 64, unique: true })
  name!: string;

  /** Comma-separated roles. */
  @Column({ type: 'varchar', length: 255 })
  roles!: string;

  /** SHA-256 of the secret part; the secret itself is never stored. */
  @Column({ name: 'secret_hash', type: 'varchar', length: 64 })
  secretHash!: string;

  @Column({ name: 'created_by', type: 'varchar', length: 128 })
  createdBy!: string;

  @Column(msColumn('created_at'))
  createdAt!: number;

  @Column(msColumn('revoked_at', true))
  revokedAt!: number | null;
}
