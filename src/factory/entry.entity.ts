import { Column, Entity, PrimaryColumn } from 'typeorm';
import { msColumn } from '../database/columns.js';

export const GLIDEIN_BOOTSTRAPS = ['ticket', 'token'] as const;
export type GlideinBootstrap = (typeof GLIDEIN_BOOTSTRAPS)[number];

/** A factory entry (GlideinWMS): the site it serves, its CE, and what its glideins need. */
@Entity('factory_entries')
export class FactoryEntry {
  @PrimaryColumn({ type: 'varchar', length: 128 })
  name!: string;

  /** The Glidein_Site. */
  @Column({ type: 'varchar', length: 128 })
  site!: string;

  /** The CE host (HTCondor-CE, ARC ...). */
  @Column({ type: 'varchar', length: 255 })
  gatekeeper!: string;

  /** GlideinWMS's trust domain label (OSG, CMS ...). */
  @Column({ name: 'trust_domain', type: 'varchar', length: 64 })
  trustDomain!: string;

  /** GlideinWMS's auth_method: '+' joins required credentials, ',' separates alternatives. */
  @Column({ name: 'auth_method', type: 'varchar', length: 128 })
  authMethod!: string;

  /** The HTCondor version its glideins run (IDTOKENs need 8.9.1 or later). */
  @Column({ name: 'condor_version', type: 'varchar', length: 64, nullable: true })
  condorVersion!: string | null;

  @Column({ name: 'security_class', type: 'varchar', length: 64, nullable: true })
  securityClass!: string | null;

  /** Policy: a glidein's bootstrap fetch also gets the frontend's SciToken (and waits for a fresh one). */
  @Column({ name: 'glidein_scitoken', type: 'boolean', default: false })
  glideinScitoken!: boolean;

  /** How long its glideins may renew their credentials after bootstrap; null: tickets.maxPilotLifeSeconds. */
  @Column({ name: 'max_pilot_life_seconds', type: 'integer', nullable: true })
  maxPilotLifeSeconds!: number | null;

  /**
   * How its glideins may bootstrap: 'ticket' (a single-use ticket each) or 'token' (also with the
   * IDTOKEN the factory shipped them, which every glidein of the entry shares: see TokenBootstrap).
   */
  @Column({ name: 'glidein_bootstrap', type: 'varchar', length: 16, default: 'ticket' })
  glideinBootstrap!: GlideinBootstrap;

  @Column(msColumn('created_at'))
  createdAt!: number;

  @Column(msColumn('updated_at'))
  updatedAt!: number;
}
