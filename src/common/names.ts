import { PipeTransform } from '@nestjs/common';
import { DomainError, ErrorCode } from './errors.js';
import { hasCredentialForm } from './secret-shape.js';

/**
 * A plain name: sites, SciTokens, entries, frontends in envelopes. It may become a file name
 * (passwords.d, the factory's cache), so no slash, no leading dot, no space.
 */
export const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** GlideinWMS's trust_domain (entries, frontend credentials): a label credentials are matched by, not HTCondor's TRUST_DOMAIN. */
export const GWMS_TRUST_DOMAIN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const GWMS_TRUST_DOMAIN_MESSAGE =
  "trustDomain is GlideinWMS's trust_domain: a matching label such as OSG or grid (an entry gets the credentials of its label), " +
  "not HTCondor's TRUST_DOMAIN (the collector's host name); 1-64 letters, digits, '_', '.' or '-'";

/** A path parameter that holds a credential: refused without echoing any of it. */
export const credentialInPath = (field: string, code: ErrorCode = 'VALIDATION_FAILED') =>
  new DomainError(code, `${field} is shaped like a credential (an API key, ticket or token), not a name; nothing of it is kept`, field);

/** Validates a `{name}`-style path parameter as a plain name: 400 naming the parameter otherwise. */
export class PlainNamePipe implements PipeTransform<string, string> {
  constructor(private readonly field: string) {}

  transform(value: string): string {
    if (!PLAIN_NAME.test(value)) throw new DomainError('VALIDATION_FAILED', `${this.field} must match ${PLAIN_NAME.source}`, this.field);
    if (hasCredentialForm(value)) throw credentialInPath(this.field);
    return value;
  }
}
