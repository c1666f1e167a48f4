/** An entry as a factory describes it (GlideinWMS's entry attributes). */
export interface EntryDescription {
  site: string;
  trustDomain: string;
  authMethod: string;
  condorVersion: string | null;
}

/** A SciToken as the frontend holds it, for matching. */
export interface SciTokenLabel {
  name: string;
  trustDomain: string;
  securityClass: string | null;
}

export type Decision = { send: true } | { send: false; reason: string };

/** HTCondor understands IDTOKENs from 8.9.1 on. */
const IDTOKEN_SINCE = [8, 9, 1];

/**
 * What an entry may declare as its HTCondor version: major.minor[.patch], optionally a packaging
 * suffix after `-` or `+` (`9.0.17-1.el7`). Everything it accepts, parseCondorVersion reads.
 */
export const CONDOR_VERSION = /^\d{1,4}\.\d{1,4}(\.\d{1,6})?([-+][A-Za-z0-9][A-Za-z0-9._+-]{0,47})?$/;

/** `8.9.1`, `23.0.3`, `9.0.17-1.el7`: the numeric release, or null when it is not a version. */
export function parseCondorVersion(v: string | null): number[] | null {
  const m = v === null ? null : /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null;
}

const atLeast = (v: number[], min: number[]) => {
  for (let i = 0; i < min.length; i++) if (v[i] !== min[i]) return v[i] > min[i];
  return true;
};

/**
 * GlideinWMS's auth_method: `,` separates alternatives, `+` joins credentials required together
 * (`grid_proxy+project_id,scitoken`). The alternatives, each a set of required credential kinds.
 */
export function parseAuthMethod(authMethod: string): string[][] {
  return authMethod
    .split(',')
    .map((alt) => alt.split('+').map((s) => s.trim().toLowerCase()).filter(Boolean))
    .filter((alt) => alt.length > 0);
}

/** Whether glideins running this HTCondor version can use an IDTOKEN (null: the version is unknown). */
export function takesIdtokens(condorVersion: string | null): boolean | null {
  const v = parseCondorVersion(condorVersion);
  return v === null ? null : atLeast(v, IDTOKEN_SINCE);
}

/** Whether the entry gets the site's IDTOKEN: the entry is at one of our sites and runs HTCondor >= 8.9.1. */
export function idtokenFor(entry: EntryDescription, ourSites: ReadonlySet<string>): Decision {
  if (!ourSites.has(entry.site)) return { send: false, reason: `site ${entry.site} is not one of this frontend's sites` };
  const takes = takesIdtokens(entry.condorVersion);
  if (takes === null) return { send: false, reason: 'the entry does not say which HTCondor version its glideins run (IDTOKENs need 8.9.1 or later)' };
  if (!takes) return { send: false, reason: `HTCondor ${entry.condorVersion} predates IDTOKENs (8.9.1)` };
  return { send: true };
}

/**
 * The SciToken an entry gets, if any: when one of its auth-method alternatives includes `scitoken`,
 * the one whose trust domain label matches the entry's (and whose security class, if set, is the
 * entry's). Several matching: the alphabetically first, so the choice is stable.
 */
export function scitokenFor(entry: EntryDescription, tokens: SciTokenLabel[], entrySecurityClass: string | null = null): { token: SciTokenLabel } | { token: null; reason: string } {
  if (!parseAuthMethod(entry.authMethod).some((alt) => alt.includes('scitoken'))) {
    return { token: null, reason: `auth method ${entry.authMethod} does not use a scitoken` };
  }
  const matching = tokens
    .filter((t) => t.trustDomain === entry.trustDomain && (t.securityClass === null || t.securityClass === entrySecurityClass))
    .sort((a, b) => a.name.localeCompare(b.name));
  if (!matching.length) return { token: null, reason: `no SciToken with trust domain ${entry.trustDomain}${entrySecurityClass ? ` and security class ${entrySecurityClass}` : ''}` };
  return { token: matching[0] };
}
