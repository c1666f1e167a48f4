/** The latest instant JavaScript's Date can hold (ms): beyond it toISOString() throws. */
export const MAX_DATE_MS = 8.64e15;

/** The latest Unix time (seconds) glidekey takes from outside: 9999-12-31T23:59:59Z, so it always formats. */
export const MAX_UNIX_SECONDS = 253_402_300_799;

/** True when `ms` is a millisecond time a Date can hold and format. */
export const isRepresentableMs = (ms: number) => Number.isSafeInteger(ms) && Math.abs(ms) <= MAX_DATE_MS;

/**
 * A millisecond timestamp as ISO-8601 (API responses), or null. A stored value no Date can hold
 * (a row written before the bounds were checked) reads as null rather than failing the whole list.
 */
export const iso = (ms: number | null) => (ms === null || !isRepresentableMs(ms) ? null : new Date(ms).toISOString());
