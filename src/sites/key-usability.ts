import type { KeyState, SiteKeyRecord } from './sites.types.js';

/**
 * What a site's key version may do, by its state (site_keys.state) and grace period: the one place
 * the rule is written. A site has one `active` version, which signs; a rotation with a grace period
 * makes the previous one `grace` until `graceUntil` (null: until the next rotation), and the
 * rotation sweep (RotationService.retireExpiredGrace) makes it `retired` once that time has passed.
 * SQL that filters on a state uses these constants (their values are the stored literals).
 */
export const KEY_STATE = { active: 'active', grace: 'grace', retired: 'retired' } as const satisfies { [S in KeyState]: S };

/** The states of a version not yet retired: `active` and `grace`. */
export const LIVE_KEY_STATES: readonly KeyState[] = [KEY_STATE.active, KEY_STATE.grace];

/** `LIVE_KEY_STATES` as a SQL list, `'active', 'grace'`, for `state IN (...)`. */
export const LIVE_KEY_STATES_SQL = LIVE_KEY_STATES.map((s) => `'${s}'`).join(', ');

/** May this version sign new tokens (mints, renewals) and stand for the site (its view, rotation metrics): only the active one. */
export const maySign = (k: Pick<SiteKeyRecord, 'state'>) => k.state === KEY_STATE.active;

/**
 * Is this state one of a version not yet retired. Forwarding sends (and keeps) credentials signed by
 * such a version, the ledger calls their unexpired tokens active and the site counts them: all by
 * state alone, so a grace version whose grace ended counts until the sweep retires it.
 */
export const isLiveState = (state: string | null | undefined) => state === KEY_STATE.active || state === KEY_STATE.grace;

/**
 * Does this version verify tokens at `now`: the active one, or one in a grace period not yet over.
 * The versions that verify are the ones in passwords.d (`inPasswordsDir`) and in a site's view.
 */
export const isUsable = (k: Pick<SiteKeyRecord, 'state' | 'graceUntil'>, now: number) =>
  k.state === KEY_STATE.active || (k.state === KEY_STATE.grace && (k.graceUntil === null || k.graceUntil > now));

/** Is this version's file in passwords.d at `now` (and so offered by the collector): exactly when it verifies. */
export const inPasswordsDir = isUsable;
