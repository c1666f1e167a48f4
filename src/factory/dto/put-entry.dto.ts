import { IsBoolean, IsIn, IsInt, IsOptional, Matches, Max, MaxLength, Min } from 'class-validator';
import { PLAIN_NAME } from '../../common/names.js';
import { CONDOR_VERSION } from '../../forwarding/matching.js';
import { GLIDEIN_BOOTSTRAPS, type GlideinBootstrap } from '../entry.entity.js';

const HOST = '[A-Za-z0-9][A-Za-z0-9.-]{0,252}';
const GATEKEEPER = new RegExp(`^(${HOST}(:\\d{1,5})?|${HOST} ${HOST}:\\d{1,5}|https://${HOST}(:\\d{1,5})?(/[A-Za-z0-9._~/-]*)?)$`);

export class PutEntryDto {
  /** The Glidein_Site this entry serves. */
  @Matches(PLAIN_NAME) site!: string;

  /**
   * The CE as GlideinWMS writes it: ce.example.org, ce.example.org:9619, the HTCondor-CE form
   * `ce.example.org ce.example.org:9619`, or a URL (https://arc.example.org:443/arex). A SciToken
   * goes to the entry only when its aud names this CE (src/forwarding/audience.ts).
   */
  @MaxLength(255)
  @Matches(GATEKEEPER, { message: 'gatekeeper must be host[:port], the HTCondor-CE form "host host:port", or https://host[:port][/path]' })
  gatekeeper!: string;

  @Matches(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/) trustDomain!: string;

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
