import type { FactoryEntry } from './entry.entity.js';

/** A factory entry as the API shows it. */
export const entryResponse = (e: FactoryEntry) => ({
  name: e.name,
  site: e.site,
  gatekeeper: e.gatekeeper,
  trustDomain: e.trustDomain,
  authMethod: e.authMethod,
  condorVersion: e.condorVersion,
  securityClass: e.securityClass,
  glideinScitoken: e.glideinScitoken,
  maxPilotLifeSeconds: e.maxPilotLifeSeconds,
  glideinBootstrap: e.glideinBootstrap,
  createdAt: new Date(e.createdAt).toISOString(),
  updatedAt: new Date(e.updatedAt).toISOString(),
});
