import { CronTime } from 'cron';
import { DomainError } from '../common/errors.js';
import type { RotationPolicyDto } from './dto/site-policy.dto.js';
import type { Site } from './site.entity.js';

export interface RotationPolicy {
  enabled: boolean;
  intervalSeconds: number | null;
  cron: string | null;
  graceSeconds: number;
}

/** Checks a policy: when enabled, exactly one of an interval or a valid cron expression (one that fires after `now`, ms). */
export function checkRotationPolicy(p: RotationPolicyDto, now: number): RotationPolicy {
  const interval = p.intervalSeconds ?? null;
  const cron = p.cron?.trim() || null;
  if (interval !== null && cron !== null) {
    throw new DomainError('INVALID_ROTATION_POLICY', 'rotation takes intervalSeconds or cron, not both', 'rotation');
  }
  if (p.enabled && interval === null && cron === null) {
    throw new DomainError('INVALID_ROTATION_POLICY', 'an enabled rotation needs intervalSeconds or cron', 'rotation');
  }
  if (cron !== null && nextCronRun(cron, now) === null) {
    throw new DomainError('INVALID_ROTATION_POLICY', 'rotation.cron is not a valid cron expression, or never fires', 'rotation.cron');
  }
  return { enabled: p.enabled, intervalSeconds: interval, cron, graceSeconds: p.graceSeconds ?? 0 };
}

export const policyOf = (s: Site): RotationPolicy => ({
  enabled: s.rotationEnabled,
  intervalSeconds: s.rotationIntervalSeconds,
  cron: s.rotationCron,
  graceSeconds: s.rotationGraceSeconds,
});

/** The first run of a cron expression (UTC) after `after` (ms), or null if it is invalid or never fires. */
export function nextCronRun(cron: string, after: number): number | null {
  try {
    const next = new CronTime(cron, 'UTC').getNextDateFrom(new Date(after)).toMillis();
    return Number.isFinite(next) ? next : null;
  } catch {
    return null;
  }
}

/** When the site's key is next due for rotation (ms), or null when rotation is off. */
export function nextRotationAt(s: Site): number | null {
  if (!s.rotationEnabled) return null;
  if (s.rotationIntervalSeconds !== null) return s.rotatedAt + s.rotationIntervalSeconds * 1000;
  if (s.rotationCron !== null) return nextCronRun(s.rotationCron, s.rotatedAt);
  return null;
}
