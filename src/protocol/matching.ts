import { audienceMatch, AudienceMatch } from './audience.js';

/** An entry as a factory describes it (GlideinWMS's entry attributes). */
export interface EntryDescription {
  site: string;
  trustDomain: string;
  authMethod: string;
  condorVersion: string | null;
  /** The CE (`host`, `host:port`, `schedd-host host:port`, or a URL). */
  gatekeeper: string;
}

/** A SciToken as the frontend holds it, for matching. */
export interface SciTokenLabel {
  name: string;
  trustDomain: string;
  securityClass: string | null;
  /** Its `aud` claim as a list; null when nothing was recorded (never sent on audience grounds). */
  audience: string[] | null;
  /** `wlcg` or `scitokens2`: which "any" audience the CE honours. */
  profile: string | null;
  /** The admin's override: meant for every entry of its label, whatever its `aud`. */
  allEntries: boolean;
}

/** A stored SciToken row as a label; its audience column (a JSON list) unreadable or absent means no audience. */
export function sciTokenLabel(r: Omit<SciTokenLabel, 'audience'> & { audience: string | null }): SciTokenLabel {
  let audience: string[] | null = null;
  try {
    const parsed: unknown = r.audience === null ? null : JSON.parse(r.audience);
    if (Array.isArray(parsed) && parsed.every((a) => typeof a === 'string')) audience = parsed;
  } catch {
    audience = null;
  }
  return { name: r.name, trustDomain: r.trustDomain, securityClass: r.securityClass, audience, profile: r.profile, allEntries: r.allEntries === true };
}

/** Why a SciToken goes to an entry: its `aud` names the CE, it is the "any" audience, or the admin's allEntries. */
export type SciTokenMatch = AudienceMatch | 'allEntries';
const RANK: Record<SciTokenMatch, number> = { ce: 0, any: 1, allEntries: 2 };

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
    .map((alt) =>
      alt
        .split('+')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
    )
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
 * one whose trust domain label matches the entry's (and whose security class, if set, is the
 * entry's) and that the entry's CE accepts (audience.ts), or that the admin marked `allEntries`.
 * Several: an audience naming the CE before the "any" audience before allEntries alone (the
 * narrowest token the CE accepts), then the alphabetically first, so the choice is stable.
 */
export function scitokenFor(
  entry: EntryDescription,
  tokens: SciTokenLabel[],
  entrySecurityClass: string | null = null,
): { token: SciTokenLabel; match: SciTokenMatch } | { token: null; reason: string } {
  if (!parseAuthMethod(entry.authMethod).some((alt) => alt.includes('scitoken'))) {
    return { token: null, reason: `auth method ${entry.authMethod} does not use a scitoken` };
  }
  const labelled = tokens
    .filter((t) => t.trustDomain === entry.trustDomain && (t.securityClass === null || t.securityClass === entrySecurityClass))
    .sort((a, b) => a.name.localeCompare(b.name));
  if (!labelled.length)
    return {
      token: null,
      reason: `no SciToken with trust domain ${entry.trustDomain}${entrySecurityClass ? ` and security class ${entrySecurityClass}` : ''}`,
    };
  const matched = labelled.flatMap((t) => {
    const m: SciTokenMatch | null = audienceMatch(t.audience, t.profile, entry.gatekeeper) ?? (t.allEntries ? 'allEntries' : null);
    return m ? [{ token: t, match: m }] : [];
  });
  if (matched.length) return matched.reduce((best, c) => (RANK[c.match] < RANK[best.match] ? c : best));
  const shown = labelled.slice(0, 5).map((t) => `${t.name} (aud ${t.audience?.length ? t.audience.join(' ') : 'none'})`);
  return {
    token: null,
    reason:
      `no SciToken with trust domain ${entry.trustDomain} is meant for this entry's CE (gatekeeper ${entry.gatekeeper}): ` +
      `${shown.join(', ')}${labelled.length > 5 ? ` and ${labelled.length - 5} more` : ''}; ` +
      'the aud must name the CE (host, host:port, https://host[:port]) or be the "any" audience of the token\'s profile, or the SciToken must have allEntries: true',
  };
}
