import { Transform, Type } from 'class-transformer';
import { GWMS_GROUP } from '../../config/config.schema.js';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';

const ONE_YEAR = 31_536_000;
const lifetime = { context: { code: 'INVALID_LIFETIME' } };
const rotation = { context: { code: 'INVALID_ROTATION_POLICY' } };
const gwmsGroups = { context: { code: 'INVALID_GWMS_GROUPS' } };

/** Accepts scopes as an array or as one space-separated string. */
export const toScopeList = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.split(/\s+/).filter(Boolean) : value);

export class RotationPolicyDto {
  @IsBoolean(rotation) enabled!: boolean;
  /** Rotate this many seconds after the previous rotation. */
  @IsOptional() @IsInt(rotation) @Min(1, rotation) @Max(ONE_YEAR, rotation) intervalSeconds?: number;
  /** Or: a cron expression (5 or 6 fields, UTC). */
  @IsOptional() @IsString(rotation) @MaxLength(128, rotation) cron?: string;
  /** How long tokens of the previous key keep verifying; 0 retires them at once. */
  @IsOptional() @IsInt(rotation) @Min(0, rotation) @Max(ONE_YEAR, rotation) graceSeconds?: number;
}

export class ImportKeyDto {
  /** `condor`: a passwords.d file as written by condor_store_cred (scrambled); `raw`: the password bytes. */
  @IsIn(['condor', 'raw'], { context: { code: 'INVALID_KEY' } }) format!: 'condor' | 'raw';
  /** The bytes, base64: any non-empty key (under 16 bytes the 201 carries a `KEY_SHORT` warning). */
  @IsString({ context: { code: 'INVALID_BASE64' } }) @MaxLength(8192, { context: { code: 'INVALID_KEY' } }) data!: string;
}

/** The policy fields shared by create and update. */
export class SitePolicyDto {
  /** The `iss` claim: the collector's HTCondor TRUST_DOMAIN. */
  @IsOptional()
  // HTCondor splits TRUST_DOMAIN at commas, spaces and tabs; control and invisible format characters would make an issuer no collector matches.
  @Matches(/^[^\s,"\\\p{Cc}\p{Cf}]{1,255}$/u, {
    message: 'issuer must be 1-255 characters without spaces, commas, quotes, backslashes or control characters',
    context: { code: 'INVALID_ISSUER' },
  })
  issuer?: string;

  /** The `sub` claim: `user@domain`. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9_.+-]{1,128}@[A-Za-z0-9_.:-]{1,126}$/, { message: 'identity must look like user@domain', context: { code: 'INVALID_SUBJECT' } })
  identity?: string;

  /** Authorization levels, e.g. `["READ","ADVERTISE_STARTD","ADVERTISE_MASTER"]` or one space-separated string. */
  @IsOptional()
  @Transform(toScopeList)
  @IsArray({ context: { code: 'INVALID_SCOPE' } })
  @ArrayMaxSize(9, { context: { code: 'INVALID_SCOPE' } })
  @IsString({ each: true, context: { code: 'INVALID_SCOPE' } })
  scopes?: string[];

  /** Must be true to allow scopes wider than a pilot's (READ ADVERTISE_STARTD ADVERTISE_MASTER). */
  @IsOptional() @IsBoolean() widenScopes?: boolean;

  @IsOptional() @IsInt(lifetime) @Min(60, lifetime) @Max(ONE_YEAR, lifetime) lifetimeSeconds?: number;

  @IsOptional() @IsInt(lifetime) @Min(60, lifetime) @Max(ONE_YEAR, lifetime) maxLifetimeSeconds?: number;

  @IsOptional() @IsObject(rotation) @ValidateNested() @Type(() => RotationPolicyDto) rotation?: RotationPolicyDto;

  /** The GlideinWMS frontend groups whose tokens.d holds this site's token (`[]`: none); null or absent on create: gwms.frontend.groups. */
  @IsOptional()
  @IsArray(gwmsGroups)
  @ArrayMaxSize(32, gwmsGroups)
  @ArrayUnique(gwmsGroups)
  @IsString({ each: true, ...gwmsGroups })
  @Matches(GWMS_GROUP, { each: true, message: `each of gwmsGroups must match ${GWMS_GROUP.source}`, ...gwmsGroups })
  gwmsGroups?: string[] | null;
}
