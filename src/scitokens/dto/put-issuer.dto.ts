import { IsDefined, IsObject, Matches } from 'class-validator';

export class PutIssuerDto {
  /** The `iss` its tokens carry, e.g. https://cilogon.org/osg. */
  @Matches(/^https?:\/\/[^\s"\\]{1,240}$/, { message: 'issuer must be an http(s) URL' }) issuer!: string;

  /** The issuer's public keys as a JWKS: `{ "keys": [...] }`. */
  @IsDefined({ context: { code: 'INVALID_JWKS' } }) @IsObject({ context: { code: 'INVALID_JWKS' } }) jwks!: Record<string, unknown>;
}
