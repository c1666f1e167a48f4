import { DomainError, ErrorCode } from './errors.js';

/**
 * A plain name: sites, SciTokens, entries, frontends in envelopes. It may become a file name
 * (passwords.d, the factory's cache), so no slash, no leading dot, no space.
 */
export const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** A factory's name as registered (host-like: may hold a colon). */
export const FACTORY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/** A registered frontend's name: at most 54 characters, as its API key is named frontend:<name>. */
export const FRONTEND_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,53}$/;

/** A trusted SciToken issuer's id. */
export const ISSUER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Renewal ids and ticket batches are 16 hex digits. */
export const HEX16 = /^[0-9a-f]{16}$/;

/** A minted token's jti: 32 lowercase hex digits. */
export const JTI = /^[0-9a-f]{32}$/;

/** GlideinWMS's trust_domain (entries, frontend credentials): a label credentials are matched by, not HTCondor's TRUST_DOMAIN. */
export const GWMS_TRUST_DOMAIN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const GWMS_TRUST_DOMAIN_MESSAGE =
  "trustDomain is GlideinWMS's trust_domain: a matching label such as OSG or grid (an entry gets the credentials of its label), " +
  "not HTCondor's TRUST_DOMAIN (the collector's host name); 1-64 letters, digits, '_', '.' or '-'";

/** A path parameter that holds a credential: refused without echoing any of it. */
export const credentialInPath = (field: string, code: ErrorCode = 'VALIDATION_FAILED') =>
  new DomainError(code, `${field} is shaped like a credential (an API key, ticket or token), not a name; nothing of it is kept`, field);
