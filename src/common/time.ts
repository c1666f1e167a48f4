/** A millisecond timestamp as ISO-8601 (API responses), or null. */
export const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
