import type { AppConfig } from '../config/config.schema.js';

type Times = { issuedAt: number | null; notBefore: number | null; expiresAt: number; storedAt: number | null };

/**
 * Seconds before exp at which a SciToken turns `expiring`: scitokens.expiringSeconds when set (an
 * absolute span wins), else scitokens.expiringFraction of its lifetime, which starts at iat, else
 * nbf, else when it was stored (the earliest moment we know it existed).
 */
export function expiringWindow(t: Times, cfg: AppConfig['scitokens']): number {
  if (cfg.expiringSeconds !== undefined) return cfg.expiringSeconds;
  const start = t.issuedAt ?? t.notBefore ?? (t.storedAt === null ? null : Math.floor(t.storedAt / 1000));
  if (start === null) return 0;
  return Math.max(0, t.expiresAt - start) * cfg.expiringFraction;
}
