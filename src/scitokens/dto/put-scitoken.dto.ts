import { IsBoolean, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { GWMS_TRUST_DOMAIN, GWMS_TRUST_DOMAIN_MESSAGE } from '../../common/names.js';

export class PutSciTokenDto {
  /** The SciToken (compact JWS). Optional when `sourcePath` is given: the file supplies it. */
  @IsOptional() @IsString({ context: { code: 'SCITOKEN_MALFORMED' } }) @MaxLength(16_384, { context: { code: 'SCITOKEN_MALFORMED' } }) token?: string;

  /** GlideinWMS's matching label, e.g. OSG (not HTCondor's TRUST_DOMAIN). */
  @Matches(GWMS_TRUST_DOMAIN, { message: GWMS_TRUST_DOMAIN_MESSAGE }) trustDomain!: string;

  @IsOptional() @Matches(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/) securityClass?: string;

  /** Extension: an absolute path under scitokens.sourceDirs that htgettoken or a credmon keeps fresh. */
  @IsOptional() @IsString() @MaxLength(1024) sourcePath?: string;

  /** Send it to every entry of its label, whatever its `aud` names (default false: only entries whose CE its aud names). */
  @IsOptional() @IsBoolean() allEntries?: boolean;

  /** Replace a stored token even though the new one expires earlier. */
  @IsOptional() @IsBoolean() force?: boolean;
}
