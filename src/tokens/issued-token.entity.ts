import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { msColumn } from '../database/columns.js';

/** The ledger: one row per minted IDTOKEN. The token itself is never stored. */
@Entity('issued_tokens')
@Index('issued_tokens_site_issued', ['siteName', 'issuedAt', 'jti'])
@Index('issued_tokens_issued', ['issuedAt', 'jti'])
// The revoked rows alone, for the revocation expression (migration RevokedTokensIndex).
@Index('issued_tokens_revoked_expires', ['expiresAt', 'issuedAt', 'subject', 'jti', 'revokedAt'], { where: 'revoked_at IS NOT NULL' })
// The revoked rows in list order, for GET /tokens?state=revoked (the same migration).
@Index('issued_tokens_revoked_issued', ['issuedAt', 'jti'], { where: 'revoked_at IS NOT NULL' })
export class IssuedToken {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  jti!: string;

  @Column({ name: 'site_id', type: 'varchar', length: 36 })
  siteId!: string;

  @Column({ name: 'site_name', type: 'varchar', length: 128 })
  siteName!: string;

  @Column({ name: 'key_id', type: 'varchar', length: 36 })
  keyId!: string;

  @Column({ name: 'key_version', type: 'integer' })
  keyVersion!: number;

  @Column({ type: 'varchar', length: 160 })
  kid!: string;

  @Column({ type: 'varchar', length: 255 })
  subject!: string;

  @Column({ type: 'varchar', length: 255 })
  issuer!: string;

  @Column({ type: 'varchar', length: 255 })
  scopes!: string;

  @Column(msColumn('issued_at'))
  issuedAt!: number;

  @Index('issued_tokens_expires')
  @Column(msColumn('expires_at'))
  expiresAt!: number;

  @Column(msColumn('revoked_at', true))
  revokedAt!: number | null;

  @Column({ name: 'minted_by', type: 'varchar', length: 128 })
  mintedBy!: string;
}
