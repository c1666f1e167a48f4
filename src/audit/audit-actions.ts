/**
 * Every action an audit line may name, and what a line of it records: the one list the route
 * decorator (@Audit, whose name also marks the route's refusals), the services and the README's
 * "Audit actions" table share (test/audit/audit-actions.spec.ts keeps the README equal to it). Operators
 * filter on these names (`GET /audit?action=`), so a name is changed only with the README.
 */
export const AUDIT_ACTIONS = {
  'apikey.create': 'an API key was created (name, roles; never the secret)',
  'apikey.revoke': 'an API key was revoked',
  'collector.reload': "frontend.reloadCommand ran after glidekey changed the collector's files (result, exit code)",
  'delivery.drop': 'due outbox rows were dropped unsent (their credential was revoked or is no longer usable)',
  'delivery.identity.accepted': "a factory accepted the frontend's new identity key",
  'delivery.queue': "credentials were queued for a factory's entries after reading them",
  'delivery.refused': 'a factory refused delivered rows (the code it gave)',
  'delivery.withdraw': 'a withdrawal was queued for a factory entry (what it took back and why)',
  'delivery.withdrawal.ack': 'a factory applied withdrawals',
  'factory.credential.refuse': 'the factory refused one credential or withdrawal of an envelope (older, expired, unknown entry)',
  'factory.credentials.receive': 'the factory received an envelope of credentials',
  'factory.credentials.withdraw': 'the factory applied an envelope of withdrawals',
  'factory.delete': 'the frontend forgot a factory registration',
  'factory.entries.import': 'factory entries were imported from a glideinWMS.xml',
  'factory.entry.create': 'a factory entry was created (PUT or import)',
  'factory.entry.delete': 'a factory entry was deleted, with its cached credentials',
  'factory.entry.update': 'a factory entry was replaced (PUT or import)',
  'factory.frontend.delete': 'the factory forgot a frontend registration',
  'factory.frontend.key-follow': "the factory re-pinned a frontend's rotated identity key",
  'factory.frontend.register': 'the factory registered a frontend',
  'factory.frontend.update': "the factory changed a frontend's registration",
  'factory.register': 'the frontend registered a factory',
  'factory.sync': 'a manual forwarding pass to a factory failed or was denied (a pass that runs records what it queued and sent)',
  'factory.update': "the frontend changed a factory's registration (URL, API key, public key)",
  'frontend.identity.previous-drop': "the frontend dropped its previous identity key (all followed, or the transition's time ended)",
  'frontend.identity.rotate': "the frontend's identity key pair was rotated",
  'glidein.renew': 'a glidein renewed its token with its renewal credential',
  'http.delete': "a DELETE to a route without an action of its own was denied for the caller's roles",
  'http.get': "a GET to a route without an action of its own was denied for the caller's roles",
  'http.head': "a HEAD to a route without an action of its own was denied for the caller's roles",
  'http.patch': "a PATCH to a route without an action of its own was denied for the caller's roles",
  'http.post': "a POST to a route without an action of its own was denied for the caller's roles",
  'http.put': "a PUT to a route without an action of its own was denied for the caller's roles",
  'renewal.issue': 'a glidein was given a renewal credential at bootstrap',
  'renewal.revoke': 'glidein renewals were revoked (one, a batch or an entry)',
  'retention.prune': 'glidekey prune archived and deleted ledger rows and audit lines (counts, cutoffs, archive)',
  'revocation-file.refuse': 'the revocation file was not updated (the check failed or the expression is over its limit)',
  'scitoken-issuer.delete': 'a trusted SciToken issuer was removed',
  'scitoken-issuer.put': 'a trusted SciToken issuer was added or replaced',
  'scitoken.handout': "a stored SciToken was handed to the frontend's credential generator (once per key and token version an hour)",
  'scitoken.refresh': 'a followed SciToken file was read again (replaced, or kept with the error code)',
  'scitoken.revoke': 'a stored SciToken was revoked',
  'scitoken.store': 'a SciToken was stored or replaced',
  'site.create': 'a site was created (with its first key)',
  'site.delete': 'a site was deleted, with its keys',
  'site.key.retire': "a site key's grace period ended and it was retired",
  'site.keyfile.export': "a site's passwords.d file was exported",
  'site.rotate': "a site's key was rotated (scheduled or manual)",
  'site.update': "a site's policy was changed",
  'ticket.consume': 'a glidein bootstrap ticket was spent for its credentials',
  'ticket.expire': "an entry's unused tickets expired and were purged",
  'ticket.issue': 'glidein bootstrap tickets were issued (entry, frontend, batch, count; never a ticket)',
  'ticket.refuse': "a valid ticket was refused because its entry's credential is stale or withdrawn",
  'token.mint': 'an IDTOKEN was minted (never the token)',
  'token.renew': "a site's current token was replaced by a new one",
  'token.revoke': 'an IDTOKEN was revoked by jti',
  'token.revoke-subject': 'the tokens of an identity issued before a cutoff were revoked',
  'token.withdraw': "a site's current token was withdrawn without a replacement (its identity is revoked ahead)",
} as const;

/** An audit action: the only names AuditService, AuditLine and @Audit take. */
export type AuditAction = keyof typeof AUDIT_ACTIONS;

export const isAuditAction = (s: string): s is AuditAction => Object.hasOwn(AUDIT_ACTIONS, s);

/** The action of a denied call to a route that has none of its own: `http.<method>` (routes have no other methods). */
export function httpAction(method: string): AuditAction {
  const action = `http.${method.toLowerCase()}`;
  if (!isAuditAction(action)) throw new Error(`no audit action for HTTP method ${method.slice(0, 16)}`);
  return action;
}
