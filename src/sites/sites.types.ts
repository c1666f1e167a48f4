/**
 * The plain shapes of sites/'s rows as other capabilities see them (the entities stay in sites/
 * and implement these). Values returned by SitesStore and SitesService have these types.
 */
export type KeyState = 'active' | 'grace' | 'retired';
export type KeySource = 'generated' | 'condor' | 'raw';

/** A site: its policy, its key version and its GlideinWMS groups. */
export interface SiteRecord {
  id: string;
  name: string;
  issuer: string;
  identity: string;
  scopes: string;
  lifetimeSeconds: number;
  maxLifetimeSeconds: number;
  rotationEnabled: boolean;
  rotationIntervalSeconds: number | null;
  rotationCron: string | null;
  rotationGraceSeconds: number;
  keyVersion: number;
  rowVersion: number;
  createdAt: number;
  updatedAt: number;
  rotatedAt: number;
  gwmsGroups: string | null;
  nextRotationAt: number | null;
}

/** One version of a site's signing key; `sealedKey` is opened only inside sites/ (SiteKeysService). */
export interface SiteKeyRecord {
  id: string;
  siteId: string;
  version: number;
  kid: string;
  state: KeyState;
  sealedKey: string;
  fingerprint: string;
  source: KeySource;
  keyLength: number;
  createdAt: number;
  graceUntil: number | null;
  retiredAt: number | null;
}
