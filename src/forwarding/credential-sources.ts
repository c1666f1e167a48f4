import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { SciTokenLabel } from '../protocol/matching.js';

/** A site's current token as forwarding sees it: metadata, and `open()` for its value (unsealed by its owner). */
export interface CurrentTokenRow {
  siteId: string;
  jti: string;
  keyId: string;
  /** Unix milliseconds. */
  issuedAt: number;
  expiresAt: number;
  open(): string;
}

/** A stored SciToken as forwarding sees it. */
export interface SciTokenRow {
  name: string;
  fingerprint: string | null;
  /** Unix seconds; null when no token is stored. */
  expiresAt: number | null;
  label: SciTokenLabel;
  /** A token is stored, not revoked, has an expiry, and its issuer is trusted: it may be forwarded (if unexpired). */
  usable: boolean;
  /** No token stored, revoked, or of an issuer no longer trusted: what an entry was given of it is withdrawn. */
  withdrawn: boolean;
  /** The token, unsealed by its owner. */
  open(): string;
}

/** The frontend's IDTOKEN source (rotation/: each site's current token). */
export interface IdtokenSource {
  /** Every current token, in the caller's read or transaction. */
  currentTokens(m: EntityManager): Promise<CurrentTokenRow[]>;
}

/** The frontend's SciToken source (scitokens/). */
export interface SciTokenSource {
  /** Every stored SciToken, in the caller's read or transaction. */
  stored(m: EntityManager): Promise<SciTokenRow[]>;
  /** The SciTokens an entry may be given at `nowMs`: usable and unexpired, as labels. */
  labels(m: EntityManager, nowMs: number): Promise<SciTokenLabel[]>;
}

/**
 * Where forwarding reads the credentials it forwards. The capabilities that own them (rotation/,
 * scitokens/) register their source at start-up, so forwarding depends on neither; each source
 * reads its own tables on the caller's EntityManager and opens its own sealed values. Unregistered
 * (a test module without that capability): there is nothing of that kind to forward.
 */
@Injectable()
export class CredentialSources {
  idtokens: IdtokenSource = { currentTokens: async () => [] };
  scitokens: SciTokenSource = { stored: async () => [], labels: async () => [] };
}
