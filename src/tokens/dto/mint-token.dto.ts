import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { toScopeList } from '../../sites/dto/site-policy.dto.js';

const lifetime = { context: { code: 'INVALID_LIFETIME' } };

export class MintTokenDto {
  /** The `sub` claim; default the site's identity. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9_.+-]{1,128}@[A-Za-z0-9_.:-]{1,126}$/, { message: 'subject must look like user@domain', context: { code: 'INVALID_SUBJECT' } })
  subject?: string;

  /** Authorization levels, within the site's policy; default the site's scopes. */
  @IsOptional()
  @Transform(({ value }) => toScopeList({ value }))
  @IsArray({ context: { code: 'INVALID_SCOPE' } })
  @ArrayMaxSize(9, { context: { code: 'INVALID_SCOPE' } })
  @IsString({ each: true, context: { code: 'INVALID_SCOPE' } })
  scopes?: string[];

  /** Within the site's maxLifetimeSeconds; default the site's lifetimeSeconds. */
  @IsOptional() @IsInt(lifetime) @Min(1, lifetime) @Max(31_536_000, lifetime) lifetimeSeconds?: number;
}
