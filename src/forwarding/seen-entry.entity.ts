import { Column, Entity, PrimaryColumn } from 'typeorm';
import { msColumn } from '../database/columns.js';

/** A factory's entry as this frontend last read it (GET /factory/entries), for matching. */
@Entity('factory_entries_seen')
export class SeenEntry {
  @PrimaryColumn({ type: 'varchar', length: 128 }) factory!: string;
  @PrimaryColumn({ type: 'varchar', length: 128 }) entry!: string;
  @Column({ type: 'varchar', length: 128 }) site!: string;
  @Column({ name: 'trust_domain', type: 'varchar', length: 64 }) trustDomain!: string;
  @Column({ name: 'auth_method', type: 'varchar', length: 128 }) authMethod!: string;
  @Column({ name: 'condor_version', type: 'varchar', length: 64, nullable: true }) condorVersion!: string | null;
  @Column({ name: 'security_class', type: 'varchar', length: 64, nullable: true }) securityClass!: string | null;
  @Column({ type: 'varchar', length: 255 }) gatekeeper!: string;
  @Column(msColumn('seen_at')) seenAt!: number;
}
