import { expiringWindow } from './expiry.js';

const T0 = 1_800_000_000;
const cfg = (over: { expiringFraction?: number; expiringSeconds?: number } = {}) => ({ expiringFraction: 0.2, sourceDirs: [], ...over });

describe(expiringWindow.name, () => {
  it.each<[string, { issuedAt: number | null; notBefore: number | null; expiresAt: number; storedAt: number | null }, ReturnType<typeof cfg>, number]>([
    ['6 h from iat: the last fifth', { issuedAt: T0, notBefore: T0, expiresAt: T0 + 6 * 3600, storedAt: null }, cfg(), 0.2 * 6 * 3600],
    ['iat wins over nbf', { issuedAt: T0, notBefore: T0 + 600, expiresAt: T0 + 3600, storedAt: null }, cfg(), 720],
    ['no iat: from nbf', { issuedAt: null, notBefore: T0 + 600, expiresAt: T0 + 3600, storedAt: null }, cfg(), 600],
    ['neither: from when it was stored', { issuedAt: null, notBefore: null, expiresAt: T0 + 3600, storedAt: (T0 + 1600) * 1000 }, cfg(), 400],
    ['nothing known about its start: never expiring before it expires', { issuedAt: null, notBefore: null, expiresAt: T0 + 3600, storedAt: null }, cfg(), 0],
    ['another fraction', { issuedAt: T0, notBefore: null, expiresAt: T0 + 1000, storedAt: null }, cfg({ expiringFraction: 0.5 }), 500],
    ['an explicit absolute span wins', { issuedAt: T0, notBefore: null, expiresAt: T0 + 6 * 3600, storedAt: null }, cfg({ expiringSeconds: 86_400 }), 86_400],
  ])('%s', (_, times, config, expected) => {
    expect(expiringWindow(times, config)).toBeCloseTo(expected, 6);
  });
});
