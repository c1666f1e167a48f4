import { PipeTransform } from '@nestjs/common';
import { DomainError } from '../common/errors.js';
import { credentialInPath, PLAIN_NAME } from '../common/names.js';
import { hasCredentialForm } from '../common/secret-shape.js';

/** The contract's site name: it becomes a kid and a file name in passwords.d. */
export const SITE_NAME = PLAIN_NAME;

/**
 * Names HTCondor would skip in a config directory (`.rpmsave`, `.rpmnew`, `.rpmorig`, `~`, `#`)
 * and names of the form `<x>_v<N>`, which glidekey reserves for graceful-rotation key names.
 */
const RESERVED = /(\.rpmsave|\.rpmnew|\.rpmorig|_v\d+)$/;

export function checkSiteName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !SITE_NAME.test(name)) {
    throw new DomainError('INVALID_SITE_NAME', `${field} must match ${SITE_NAME.source}`, field);
  }
  if (hasCredentialForm(name)) throw credentialInPath(field, 'INVALID_SITE_NAME');
  if (RESERVED.test(name)) throw new DomainError('INVALID_SITE_NAME', `${field} must not end in _v<N>, .rpmsave, .rpmnew or .rpmorig`, field);
  return name;
}

/** Validates the {site} path parameter. */
export class SiteNamePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    return checkSiteName(value, 'site');
  }
}
