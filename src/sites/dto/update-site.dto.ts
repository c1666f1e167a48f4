import { IsInt, IsOptional, Min } from 'class-validator';
import { SitePolicyDto } from './site-policy.dto.js';

export class UpdateSiteDto extends SitePolicyDto {
  /** The site's rowVersion as last read; a different current version answers 409 STALE_VERSION. */
  @IsOptional() @IsInt() @Min(1) rowVersion?: number;
}
