import { iso } from '../common/time.js';
import { isWiderThanPilot, Level } from './scopes.js';
import type { Warning } from './key-material.js';
import { policyOf } from './rotation-policy.js';
import type { CurrentTokenFacts } from './site-hooks.js';
import type { SiteKey } from './site-key.entity.js';
import type { Site } from './site.entity.js';

/** The site's own GlideinWMS frontend groups, or null when it follows gwms.frontend.groups. */
export const siteGwmsGroups = (site: Pick<Site, 'gwmsGroups'>): string[] | null =>
  site.gwmsGroups === null ? null : site.gwmsGroups.split(',').filter(Boolean);

/** A site as the API shows it: metadata and policy, never key bytes. */
export function siteResponse(site: Site, key: SiteKey, activeTokens: number, now: number) {
  const levels = site.scopes.split(' ') as Level[];
  const next = site.nextRotationAt;
  return {
    name: site.name,
    kid: key.kid,
    issuer: site.issuer,
    identity: site.identity,
    scopes: levels,
    widerThanPilot: isWiderThanPilot(levels),
    lifetimeSeconds: site.lifetimeSeconds,
    maxLifetimeSeconds: site.maxLifetimeSeconds,
    rotation: policyOf(site),
    gwmsGroups: siteGwmsGroups(site),
    key: {
      version: key.version,
      kid: key.kid,
      fingerprint: key.fingerprint,
      source: key.source,
      length: key.keyLength,
      createdAt: iso(key.createdAt),
      ageSeconds: Math.max(0, Math.floor((now - key.createdAt) / 1000)),
    },
    createdAt: iso(site.createdAt),
    updatedAt: iso(site.updatedAt),
    rotatedAt: iso(site.rotatedAt),
    nextRotationAt: iso(next),
    secondsUntilRotation: next === null ? null : Math.max(0, Math.ceil((next - now) / 1000)),
    activeTokenCount: activeTokens,
    rowVersion: site.rowVersion,
  };
}

/** A site just created, with the warnings about an imported key (none for a generated one). */
export const createdSiteResponse = (site: Site, key: SiteKey, now: number, warnings: Warning[]) => ({ ...siteResponse(site, key, 0, now), warnings });

/** One site (GET /sites/{site}): its view, the key versions that verify (`keys`, newest first) and its current token's metadata. */
export function siteDetailResponse(site: Site, key: SiteKey, activeTokens: number, now: number, keys: SiteKey[], current: CurrentTokenFacts | null) {
  return {
    ...siteResponse(site, key, activeTokens, now),
    keys: keys.map((k) => ({
      version: k.version,
      kid: k.kid,
      state: k.state,
      fingerprint: k.fingerprint,
      createdAt: iso(k.createdAt),
      graceUntil: iso(k.graceUntil),
    })),
    currentToken: current ? { jti: current.jti, issuedAt: iso(current.issuedAt), expiresAt: iso(current.expiresAt) } : null,
  };
}
