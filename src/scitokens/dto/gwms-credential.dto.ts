import { Type } from 'class-transformer';
import { IsObject, IsOptional, IsString, Matches, MaxLength, MinLength, ValidateNested } from 'class-validator';

/** The factory entry as GlideinWMS's frontend passes it to a credential generator. */
export class GwmsEntryDto {
  /** EntryName. */
  @IsString() @MinLength(1) @MaxLength(255) name!: string;

  /** GLIDEIN_Gatekeeper as the factory advertises it (`host`, `host:port`, `schedd-host host:port`, a URL). */
  @IsString() @MinLength(1) @MaxLength(1024) gatekeeper!: string;

  /** AuthenticatedIdentity of the factory (`name@host`); GlideinWMS may have none. Recorded, not matched. */
  @IsOptional() @IsString() @MaxLength(255) factory?: string;
}

/** POST /gwms/credentials/scitoken: the arguments of GlideinWMS's get_credential(log, group, entry, trust_domain). */
export class GwmsCredentialDto {
  /** The frontend group (e.g. main). Recorded, not matched. */
  @IsString() @MaxLength(128) group!: string;

  @IsObject() @ValidateNested() @Type(() => GwmsEntryDto) entry!: GwmsEntryDto;

  /** The credential's trust_domain in frontend.xml, which GlideinWMS matched to the entry's GLIDEIN_TrustDomain. */
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/) trustDomain!: string;
}
