/**
 * Whether a SciToken's `aud` lets a CE accept it, modelled on scitokens-cpp (Enforcer::aud_validator),
 * which HTCondor and HTCondor-CE use with SCITOKENS_SERVER_AUDIENCE as the accepted list: an audience
 * matches only as an exact, case-sensitive string (no trailing-slash or scheme folding), and the
 * "any" audience is profile-bound: `ANY` for SciTokens 2.0 tokens, `https://wlcg.cern.ch/jwt/v1/any`
 * for WLCG 1.0 tokens (a WLCG token with `aud: ANY` is refused, and the other way round). A token
 * without `aud` is refused by both profiles. We cannot read a CE's configured list, so "names the
 * CE" means one of the spellings a CE lists for itself: `host`, `host:port`, `https://host`,
 * `https://host:port`, or the gatekeeper's own URL; never a friendlier reading.
 */

export const WLCG_ANY = 'https://wlcg.cern.ch/jwt/v1/any';
export const SCITOKENS_ANY = 'ANY';

export type AudienceMatch = 'ce' | 'any';

/** One address a CE is reached at: its host in lower case (DNS names are case-insensitive), port and URL path when known. */
export interface Endpoint {
  host: string;
  port: number | null;
  /** '' when the gatekeeper is not a URL or its URL has no path. */
  path: string;
}

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.]+\])$/;

/** `host`, `host:port`, `[v6]:port` into host and port, or null when it is not one. */
function hostPort(s: string): { host: string; port: number | null } | null {
  const m = /^(\[[^\]]*\]|[^:/\s[\]]+)(?::(\d{1,5}))?$/.exec(s);
  if (!m || !HOST.test(m[1])) return null;
  const port = m[2] === undefined ? null : Number(m[2]);
  if (port !== null && (port < 1 || port > 65535 || m[2].length !== String(port).length)) return null;
  return { host: m[1], port };
}

/** `https://host[:port][/path]` into its parts (the scheme as given), or null. Queries and fragments are not audiences a CE lists. */
function url(s: string, scheme: RegExp): (Endpoint & { scheme: string }) | null {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(\/[^?#]*)?$/.exec(s);
  if (!m || !scheme.test(m[1])) return null;
  const hp = hostPort(m[2]);
  return hp ? { ...hp, path: m[3] ?? '', scheme: m[1] } : null;
}

/**
 * The CE addresses an entry's gatekeeper names: GlideinWMS writes `host`, `host:port`, the
 * HTCondor-CE form `schedd-host collector-host:port` (two words, both addresses of the CE), or a
 * URL (`https://arc.example.org:443/arex`). A URL without a port has its scheme's.
 */
export function gatekeeperEndpoints(gatekeeper: string): Endpoint[] {
  const out: Endpoint[] = [];
  for (const word of gatekeeper.trim().split(/\s+/).filter(Boolean)) {
    const u = url(word, /^https?$/i);
    if (u) {
      out.push({ host: u.host.toLowerCase(), port: u.port ?? (u.scheme.toLowerCase() === 'https' ? 443 : 80), path: u.path });
      continue;
    }
    const hp = hostPort(word);
    if (hp) out.push({ host: hp.host.toLowerCase(), port: hp.port, path: '' });
  }
  return out;
}

/** Whether one `aud` value names one of the CE's addresses (exact host as the CE spells it: lower case). */
function namesEndpoint(aud: string, endpoints: Endpoint[]): boolean {
  // Only the lower-case scheme: the CE compares the string exactly, and lists `https://` as written.
  const parsed = aud.startsWith('https://')
    ? url(aud, /^https$/)
    : (() => {
        const hp = hostPort(aud);
        return hp ? { ...hp, path: '' } : null;
      })();
  if (!parsed) return false;
  return endpoints.some(
    (e) =>
      parsed.host === e.host &&
      (parsed.port === null || parsed.port === e.port) &&
      // A path (even a lone trailing `/`) names one service of the host: only the gatekeeper's own.
      (parsed.path === '' || parsed.path === e.path),
  );
}

/** Whether `aud` is the "any" audience of the token's profile (scitokens-cpp: exact string, per profile). */
export function isAnyAudience(aud: string, profile: string | null): boolean {
  return (profile === 'wlcg' && aud === WLCG_ANY) || (profile === 'scitokens2' && aud === SCITOKENS_ANY);
}

/**
 * How a token's audiences let the entry's CE accept it: `ce` when one names the CE (preferred: the
 * narrowest), `any` when one is its profile's "any" audience, null when the CE would refuse it.
 */
export function audienceMatch(audience: readonly string[] | null, profile: string | null, gatekeeper: string): AudienceMatch | null {
  if (!audience?.length) return null;
  const endpoints = gatekeeperEndpoints(gatekeeper);
  if (audience.some((a) => namesEndpoint(a, endpoints))) return 'ce';
  if (audience.some((a) => isAnyAudience(a, profile))) return 'any';
  return null;
}
