import { Column, Entity, PrimaryColumn } from 'typeorm';
import { msColumn } from '../database/columns.js';

/** An issuer whose SciTokens glidekey accepts, with its public keys (a JWKS; nothing secret). */
@Entity('scitoken_issuers')
export class SciTokenIssuer {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  /** The `iss` its tokens carry, exactly. */
  @Column({ type: 'varchar', length: 255, unique: true })
  issuer!: string;

  /** JSON: `{ "keys": [public JWKs] }`. */
  @Column({ type: 'text' })
  jwks!: string;

  @Column(msColumn('created_at'))
  createdAt!: number;

  @Column(msColumn('updated_at'))
  updatedAt!: number;
}
