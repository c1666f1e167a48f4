import { iso } from '../common/time.js';
import { publicKeyFingerprint } from '../identity/identity.service.js';
import { idtokenFor, SciTokenLabel, scitokenFor } from '../protocol/matching.js';
import type { Factory } from './factory.entity.js';
import type { SeenEntry } from './seen-entry.entity.js';

/** A factory as the API shows it: never its API key. */
export const factoryResponse = (f: Factory) => ({
  name: f.name,
  url: f.url,
  publicKey: f.publicKey,
  fingerprint: publicKeyFingerprint(Buffer.from(f.publicKey, 'base64')),
  createdAt: iso(f.createdAt),
  updatedAt: iso(f.updatedAt),
  rowVersion: f.rowVersion,
  syncedAt: iso(f.syncedAt),
  syncError: f.syncError,
});

/** An entry as last seen, with what this frontend sends it and, where nothing, why. */
export const seenEntryResponse = (e: SeenEntry, sites: ReadonlySet<string>, labels: SciTokenLabel[]) => {
  const idtoken = idtokenFor(e, sites);
  const scitoken = scitokenFor(e, labels, e.securityClass);
  return {
    name: e.entry,
    site: e.site,
    gatekeeper: e.gatekeeper,
    trustDomain: e.trustDomain,
    authMethod: e.authMethod,
    condorVersion: e.condorVersion,
    securityClass: e.securityClass,
    seenAt: iso(e.seenAt),
    idtoken: idtoken.send ? { send: true, site: e.site } : { send: false, reason: idtoken.reason },
    scitoken: scitoken.token ? { send: true, name: scitoken.token.name, match: scitoken.match } : { send: false, reason: scitoken.reason },
  };
};

/** A factory in GET /factories: with its entries as last seen (`entries`: this factory's). */
export const factoryWithEntriesResponse = (f: Factory, entries: SeenEntry[], sites: ReadonlySet<string>, labels: SciTokenLabel[]) => ({
  ...factoryResponse(f),
  entries: entries.map((e) => seenEntryResponse(e, sites, labels)),
});
