import { IsDefined, IsObject, Matches } from 'class-validator';
import { ISSUER_URL } from '../issuers.service.js';

export class PutIssuerDto {
  /** The `iss` its tokens carry, e.g. https://cilogon.org/osg. */
  @Matches(ISSUER_URL, { message: 'issuer must be an http(s) URL' }) issuer!: string;

  /** The issuer's public keys as a JWKS: `{ "keys": [...] }`. */
  @IsDefined({ context: { code: 'INVALID_JWKS' } }) @IsObject({ context: { code: 'INVALID_JWKS' } }) jwks!: Record<string, unknown>;
}
