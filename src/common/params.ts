import { PipeTransform } from '@nestjs/common';
import { DomainError, ErrorCode } from './errors.js';
import { credentialInPath, FACTORY_NAME, FRONTEND_NAME, HEX16, ISSUER_ID, JTI, PLAIN_NAME } from './names.js';
import { hasCredentialForm } from './secret-shape.js';

/**
 * Path parameters, one recipe: every `@Param(...)` of a controller goes through a pipe built here
 * with `paramPipe`, one per kind of parameter, each with its rule, stable code and field name. The
 * global pipe (common/validation.ts) has already refused NUL in any of them. Two kinds keep their
 * pipe beside the rule they share with the capability that owns it, built the same way:
 * site names (`SiteNamePipe`, `SiteLookupPipe` in sites/site-name.ts) and API key references
 * (`ApiKeyRefPipe` in auth/api-key.secret.ts).
 */

/** A kind's rule: the value the handler gets, or a DomainError thrown (400 unless its code says otherwise). */
export type ParamRule = (value: string) => string;

class ParamPipe implements PipeTransform<string, string> {
  constructor(private readonly rule: ParamRule) {}
  transform(value: string): string {
    return this.rule(value);
  }
}

/** The pipe for one kind of path parameter. */
export const paramPipe = (rule: ParamRule): PipeTransform<string, string> => new ParamPipe(rule);

/**
 * A name matching `pattern` and not shaped like a credential (refused without echoing it), or
 * `code` with `message`, naming `field`.
 */
export const namedBy =
  (pattern: RegExp, field: string, message: string, code: ErrorCode = 'VALIDATION_FAILED'): ParamRule =>
  (value) => {
    if (!pattern.test(value)) throw new DomainError(code, message, field);
    if (hasCredentialForm(value)) throw credentialInPath(field, code);
    return value;
  };

/** A plain name (a SciToken, an entry, an issuer id to delete): `<field> must match <PLAIN_NAME>`. */
export const PlainNamePipe = (field: string) => paramPipe(namedBy(PLAIN_NAME, field, `${field} must match ${PLAIN_NAME.source}`));

/** A factory's name as registered (may hold a colon). */
export const FactoryNamePipe = paramPipe(namedBy(FACTORY_NAME, 'name', 'name is not a factory name'));

/** A registered frontend's name, as POST /factory/frontends takes it. */
export const FrontendNamePipe = paramPipe(namedBy(FRONTEND_NAME, 'name', 'name is not a frontend name'));

/** A trusted issuer's id to store; IssuersService.put applies the same rule to the ids of scitokens.issuersFile. */
export const issuerId = namedBy(ISSUER_ID, 'id', `issuer id must match ${ISSUER_ID.source}`);
export const IssuerIdPipe = paramPipe(issuerId);

/** 16 hex digits (a renewal id, a ticket batch). Never a credential's form, so not scanned for one. */
export const Hex16Pipe = (field: string) =>
  paramPipe((value) => {
    if (!HEX16.test(value)) throw new DomainError('VALIDATION_FAILED', `${field} must be 16 hex digits`, field);
    return value;
  });

/** A minted token's jti: INVALID_JTI. */
export const JtiPipe = paramPipe((value) => {
  if (!JTI.test(value)) throw new DomainError('INVALID_JTI', 'jti must be 32 lowercase hex characters', 'jti');
  return value;
});
