import { Column, Entity, PrimaryColumn } from 'typeorm';
import { msColumn } from '../database/columns.js';

/** A site's current token: the one renewed ahead of expiry and forwarded to factories. Sealed. */
@Entity('current_tokens')
export class CurrentToken {
  @PrimaryColumn({ name: 'site_id', type: 'varchar', length: 36 })
  siteId!: string;

  @Column({ type: 'varchar', length: 32 })
  jti!: string;

  @Column({ name: 'key_id', type: 'varchar', length: 36 })
  keyId!: string;

  /** The token, sealed with associated data `current-token:<site id>:<jti>`. */
  @Column({ name: 'sealed_token', type: 'text' })
  sealedToken!: string;

  @Column(msColumn('issued_at'))
  issuedAt!: number;

  @Column(msColumn('expires_at'))
  expiresAt!: number;
}

export const currentTokenAd = (siteId: string, jti: string) => `current-token:${siteId}:${jti}`;
