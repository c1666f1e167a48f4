import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintNumber, msColumn } from '../database/columns.js';
import type { CredentialType } from './cached-credential.entity.js';

/**
 * A credential a frontend withdrew: the tombstone of its cache row (the sealed value is gone with
 * that row). A delivery of this version or older is refused, so a late copy cannot bring it back.
 */
@Entity('withdrawn_credentials')
export class WithdrawnCredential {
  @PrimaryColumn({ type: 'varchar', length: 128 }) frontend!: string;
  @PrimaryColumn({ type: 'varchar', length: 128 }) entry!: string;
  @PrimaryColumn({ type: 'varchar', length: 16 }) type!: CredentialType;
  /** The withdrawal's version: deliveries up to it are refused CREDENTIAL_OLDER. */
  @Column({ type: 'bigint', transformer: bigintNumber }) version!: number;
  /** Why the frontend withdrew it (SITE_DELETED, TOKEN_REVOKED, ...). */
  @Column({ type: 'varchar', length: 64 }) reason!: string;
  @Column(msColumn('withdrawn_at')) withdrawnAt!: number;
  @Column({ name: 'envelope_id', type: 'varchar', length: 36 }) envelopeId!: string;
}
