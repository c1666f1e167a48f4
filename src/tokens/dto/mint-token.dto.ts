import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { fastCheck } from '../../common/validation.js';
import { toScopeList } from '../../sites/dto/site-policy.dto.js';

const SUBJECT = /^[A-Za-z0-9_.+-]{1,128}@[A-Za-z0-9_.:-]{1,126}$/;
const MAX_SCOPES = 9;
const MAX_LIFETIME = 31_536_000;

const lifetime = { context: { code: 'INVALID_LIFETIME' } };

export class MintTokenDto {
  /** The `sub` claim; default the site's identity. */
  @IsOptional()
  @Matches(SUBJECT, { message: 'subject must look like user@domain', context: { code: 'INVALID_SUBJECT' } })
  subject?: string;

  /** Authorization levels, within the site's policy; default the site's scopes. */
  @IsOptional()
  @Transform(({ value }) => toScopeList({ value }))
  @IsArray({ context: { code: 'INVALID_SCOPE' } })
  @ArrayMaxSize(MAX_SCOPES, { context: { code: 'INVALID_SCOPE' } })
  @IsString({ each: true, context: { code: 'INVALID_SCOPE' } })
  scopes?: string[];

  /** Within the site's maxLifetimeSeconds; default the site's lifetimeSeconds. */
  @IsOptional() @IsInt(lifetime) @Min(1, lifetime) @Max(MAX_LIFETIME, lifetime) lifetimeSeconds?: number;
}

const plainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/**
 * The mint body that passes the decorators above (no body, `{}`, or well-formed fields), checked
 * without class-validator's reflection; anything else (a field absent from the rules, null, a
 * wrong type, out of range) is left to class-validator, for its code and message.
 */
fastCheck(MintTokenDto, (value) => {
  if (value === undefined || value === null) return new MintTokenDto();
  if (!plainObject(value)) return undefined;
  const dto = new MintTokenDto();
  for (const k in value) {
    if (!Object.hasOwn(value, k)) return undefined;
    const v = value[k];
    if (k === 'subject') {
      if (typeof v !== 'string' || !SUBJECT.test(v)) return undefined;
      dto.subject = v;
    } else if (k === 'scopes') {
      const list = toScopeList({ value: v });
      if (!Array.isArray(list) || list.length > MAX_SCOPES) return undefined;
      for (let i = 0; i < list.length; i++) if (typeof list[i] !== 'string') return undefined;
      dto.scopes = list as string[];
    } else if (k === 'lifetimeSeconds') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_LIFETIME) return undefined;
      dto.lifetimeSeconds = v;
    } else return undefined;
  }
  return dto;
});
