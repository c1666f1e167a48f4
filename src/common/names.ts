import { PipeTransform } from '@nestjs/common';
import { DomainError } from './errors.js';

/**
 * A plain name: sites, SciTokens, entries, frontends in envelopes. It may become a file name
 * (passwords.d, the factory's cache), so no slash, no leading dot, no space.
 */
export const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Validates a `{name}`-style path parameter as a plain name: 400 naming the parameter otherwise. */
export class PlainNamePipe implements PipeTransform<string, string> {
  constructor(private readonly field: string) {}

  transform(value: string): string {
    if (!PLAIN_NAME.test(value)) throw new DomainError('VALIDATION_FAILED', `${this.field} must match ${PLAIN_NAME.source}`, this.field);
    return value;
  }
}
