import { Type } from 'class-transformer';
import { IsObject, IsOptional, IsString, ValidateNested } from 'class-validator';
import { ImportKeyDto, SitePolicyDto } from './site-policy.dto.js';

export class CreateSiteDto extends SitePolicyDto {
  /** The Glidein_Site name; becomes the kid and the passwords.d file name. */
  @IsString({ context: { code: 'INVALID_SITE_NAME' } }) name!: string;

  /** Import an existing key instead of generating 64 random bytes. */
  @IsOptional() @IsObject({ context: { code: 'INVALID_KEY' } }) @ValidateNested() @Type(() => ImportKeyDto) key?: ImportKeyDto;
}
