import { IsBoolean, IsIn, IsInt, IsOptional, Matches, Max, MaxLength, Min } from 'class-validator';
import { GWMS_TRUST_DOMAIN, GWMS_TRUST_DOMAIN_MESSAGE, PLAIN_NAME } from '../../common/names.js';
import { CONDOR_VERSION } from '../../protocol/matching.js';
import { GLIDEIN_BOOTSTRAPS, type GlideinBootstrap } from '../entry.entity.js';

const HOST = '[A-Za-z0-9][A-Za-z0-9.-]{0,252}';
const PORT = '(:\\d{1,5})?';
const PATH = '(/[A-Za-z0-9._~/-]*)?';
const USER = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}';
/**
 * Every form GlideinWMS writes in an entry's `gatekeeper`: `host` or `host:port` (ARC, HTCondor-CE
 * by one name), the HTCondor-CE pair `schedd-host collector-host:port`, a URL (ARC REST, clouds),
 * `host[:port]/path` (CREAM, GT2's `host/jobmanager-condor`), `user@host[:port]` (batch, BOSCO).
 */
export const GATEKEEPER = new RegExp(`^(${HOST}${PORT}${PATH}|${HOST} ${HOST}:\\d{1,5}|https://${HOST}${PORT}${PATH}|${USER}@${HOST}${PORT})$`);
export const GATEKEEPER_MESSAGE =
  'gatekeeper must be written as GlideinWMS writes it in glideinWMS.xml: host or host:port, the HTCondor-CE pair "schedd-host collector-host:port" ' +
  '(one space, the second with its port, e.g. "ce1.unl.edu ce1.unl.edu:9619"), https://host[:port][/path], host[:port]/path (CREAM, GT2) or user@host (batch); ' +
  'no other spaces, quotes or schemes';
export class PutEntryDto {
  /** The Glidein_Site this entry serves. */
  @Matches(PLAIN_NAME) site!: string;

  /**
   * The CE as GlideinWMS writes it (GATEKEEPER above). A SciToken goes to the entry only when its
   * aud names this CE (src/protocol/audience.ts): a `user@host` or `host/path` gatekeeper names
   * no CE a token could be meant for, so only "any"-audience and allEntries tokens go there.
   */
  @MaxLength(255, { message: 'gatekeeper must be at most 255 characters' })
  @Matches(GATEKEEPER, { message: GATEKEEPER_MESSAGE })
  gatekeeper!: string;

  /** GlideinWMS's trust_domain label (OSG, grid, CMS ...), matched against the frontend's credentials; not HTCondor's TRUST_DOMAIN. */
  @Matches(GWMS_TRUST_DOMAIN, { message: GWMS_TRUST_DOMAIN_MESSAGE }) trustDomain!: string;

  /** e.g. scitoken, grid_proxy+project_id, grid_proxy,scitoken */
  @MaxLength(128) @Matches(/^[a-z0-9_]+([+,][a-z0-9_]+)*$/i, { message: "authMethod must be credential kinds joined by '+' or ','" }) authMethod!: string;

  /** e.g. 23.0.3 or 9.0.17-1.el7; absent: unknown (no IDTOKEN is sent). Only forms matching.ts reads as a version. */
  @IsOptional() @MaxLength(64) @Matches(CONDOR_VERSION, { message: 'condorVersion must look like 23.0.3 or 9.0.17-1.el7' }) condorVersion?: string;

  @IsOptional() @Matches(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/) securityClass?: string;

  /** Policy: the glidein bootstrap fetch also returns the SciToken (default false). */
  @IsOptional() @IsBoolean() glideinScitoken?: boolean;

  /** How long a glidein of this entry may renew its credentials after bootstrap (60 s to a year); absent: tickets.maxPilotLifeSeconds. */
  @IsOptional() @IsInt() @Min(60) @Max(31_536_000) maxPilotLifeSeconds?: number;

  /**
   * How its glideins bootstrap: 'ticket' (default: a single-use ticket each) or 'token' (also with
   * the IDTOKEN the factory cache holds for the entry, as GlideinWMS ships it; shared by every
   * glidein of the entry, so opt-in: README, Security model).
   */
  @IsOptional() @IsIn(GLIDEIN_BOOTSTRAPS) glideinBootstrap?: GlideinBootstrap;
}
