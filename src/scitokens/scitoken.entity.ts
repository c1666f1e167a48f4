import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintNumber, msColumn } from '../database/columns.js';

const seconds = (name: string) => ({ name, type: 'bigint' as const, nullable: true, transformer: bigintNumber });

/** A VO SciToken: the token sealed at rest, and what was read from it when it was checked. */
@Entity('scitokens')
export class SciToken {
  @PrimaryColumn({ type: 'varchar', length: 128 })
  name!: string;

  /** GlideinWMS's matching label (e.g. OSG), not HTCondor's TRUST_DOMAIN. */
  @Column({ name: 'trust_domain', type: 'varchar', length: 64 })
  trustDomain!: string;

  @Column({ name: 'security_class', type: 'varchar', length: 64, nullable: true })
  securityClass!: string | null;

  /** The admin's override: sent to every entry of its label, whatever its `aud` names. */
  @Column({ name: 'all_entries', type: 'boolean', default: false })
  allEntries!: boolean;

  /** A file htgettoken or a credmon keeps fresh; the scheduler follows it. */
  @Column({ name: 'source_path', type: 'varchar', length: 1024, nullable: true })
  sourcePath!: string | null;

  /** The token, sealed with associated data `scitoken:<name>`; null while missing or after revocation. */
  @Column({ name: 'sealed_token', type: 'text', nullable: true })
  sealedToken!: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true }) issuer!: string | null;
  @Column({ type: 'varchar', length: 255, nullable: true }) subject!: string | null;
  /** JSON array of audiences. */
  @Column({ type: 'text', nullable: true }) audience!: string | null;
  @Column({ type: 'text', nullable: true }) scope!: string | null;
  @Column({ type: 'varchar', length: 16, nullable: true }) profile!: string | null;
  @Column({ type: 'varchar', length: 8, nullable: true }) alg!: string | null;
  @Column({ type: 'varchar', length: 255, nullable: true }) kid!: string | null;
  @Column({ type: 'varchar', length: 255, nullable: true }) jti!: string | null;
  @Column({ type: 'varchar', length: 64, nullable: true }) fingerprint!: string | null;
  /** Claims, in Unix seconds. */
  @Column(seconds('issued_at')) issuedAt!: number | null;
  @Column(seconds('not_before')) notBefore!: number | null;
  @Column(seconds('expires_at')) expiresAt!: number | null;

  @Column(msColumn('stored_at', true)) storedAt!: number | null;
  @Column(msColumn('revoked_at', true)) revokedAt!: number | null;
  /** Why the last refresh from the source kept the old token (an error code), and when. */
  @Column({ name: 'refresh_error', type: 'varchar', length: 64, nullable: true }) refreshError!: string | null;
  @Column(msColumn('refresh_error_at', true)) refreshErrorAt!: number | null;
  @Column(msColumn('created_at')) createdAt!: number;
  @Column(msColumn('updated_at')) updatedAt!: number;
}

export const sciTokenAd = (name: string) => `scitoken:${name}`;
