import { DomainError } from '../common/errors.js';
import { credentialInPath, PLAIN_NAME } from '../common/names.js';
import { namedBy, paramPipe } from '../common/params.js';
import { hasCredentialForm } from '../common/secret-shape.js';

/** The contract's site name: it becomes a kid and a file name in passwords.d. */
export const SITE_NAME = PLAIN_NAME;

/**
 * HTCondor reads SEC_PASSWORD_DIRECTORY through LOCAL_CONFIG_DIR_EXCLUDE_REGEXP, whose default hides
 * names starting with `.` or `#`, ending in `~`, or ending in one of these suffixes (matched
 * case-sensitively: `ce.SH` is offered, `ce.sh` is not). A key under such a name is never offered
 * to clients, so its tokens never work. The leading `.`/`#` and trailing `~` forms already fail
 * the plain-name rule.
 */
export const CONDOR_HIDDEN_SUFFIXES = ['.pl', '.py', '.sh', '.rpmsave', '.rpmnew', '.dpkg-old', '.dpkg-dist', '.cfsaved'] as const;

/** The suffix (or rule) under which HTCondor's default exclude expression hides `name`, if any. */
export function condorHides(name: string): string | null {
  if (name.startsWith('.')) return 'a leading "."';
  if (name.startsWith('#')) return 'a leading "#"';
  if (name.endsWith('~')) return 'a trailing "~"';
  const suffix = CONDOR_HIDDEN_SUFFIXES.find((s) => name.endsWith(s));
  return suffix ? `the suffix "${suffix}"` : null;
}

/**
 * `<x>_v<N>` is glidekey's graceful-rotation key name. `.rpmorig` is not hidden by HTCondor, but rpm
 * gives that name to the backup of a replaced config file, so glidekey keeps it out of passwords.d.
 */
const RESERVED = /(_v\d+|\.rpmorig)$/;

export function checkSiteName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !SITE_NAME.test(name)) {
    throw new DomainError('INVALID_SITE_NAME', `${field} must match ${SITE_NAME.source}`, field);
  }
  if (hasCredentialForm(name)) throw credentialInPath(field, 'INVALID_SITE_NAME');
  const hidden = condorHides(name);
  if (hidden) {
    throw new DomainError(
      'SITE_NAME_HIDDEN_BY_CONDOR',
      `${field} has ${hidden}: HTCondor's default LOCAL_CONFIG_DIR_EXCLUDE_REGEXP hides such files in passwords.d, so its tokens would never work`,
      field,
    );
  }
  if (RESERVED.test(name)) throw new DomainError('INVALID_SITE_NAME', `${field} must not end in _v<N> (graceful-rotation key names) or .rpmorig`, field);
  return name;
}

/**
 * The {site} path parameter of a route that makes a token or a key: the full rule, so a name the
 * collector hides gets its code rather than a token that never works.
 */
export const SiteNamePipe = paramPipe((value) => checkSiteName(value, 'site'));

/**
 * The {site} path parameter of a lookup (read, delete, key file export): the plain-name rule only,
 * so a site created before a name rule existed can still be seen and removed.
 */
export const SiteLookupPipe = paramPipe(namedBy(SITE_NAME, 'site', `site must match ${SITE_NAME.source}`, 'INVALID_SITE_NAME'));
