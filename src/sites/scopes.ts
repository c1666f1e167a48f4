import { DomainError } from '../common/errors.js';

/** HTCondor's authorization levels that a token scope may name (`condor:/<LEVEL>`). */
export const LEVELS = ['READ', 'WRITE', 'DAEMON', 'ADMINISTRATOR', 'NEGOTIATOR', 'CONFIG', 'ADVERTISE_STARTD', 'ADVERTISE_SCHEDD', 'ADVERTISE_MASTER'] as const;
export type Level = (typeof LEVELS)[number];

/** What each level implies (HTCondor: WRITE implies READ; DAEMON, ADMINISTRATOR imply WRITE; ...). */
const IMPLIES: Record<Level, Level[]> = {
  READ: [],
  WRITE: ['READ'],
  DAEMON: ['WRITE'],
  ADMINISTRATOR: ['WRITE'],
  NEGOTIATOR: ['READ'],
  CONFIG: ['READ'],
  ADVERTISE_STARTD: ['READ'],
  ADVERTISE_SCHEDD: ['READ'],
  ADVERTISE_MASTER: ['READ'],
};

/** GlideinWMS's pilot scopes: all a glidein needs to join a pool. Wider needs an explicit admin decision. */
export const PILOT_LEVELS: Level[] = ['READ', 'ADVERTISE_STARTD', 'ADVERTISE_MASTER'];

/** Every level that holding `levels` grants, implied ones included. */
export function closure(levels: Iterable<Level>): Set<Level> {
  const out = new Set<Level>();
  const visit = (l: Level) => {
    if (out.has(l)) return;
    out.add(l);
    IMPLIES[l].forEach(visit);
  };
  for (const l of levels) visit(l);
  return out;
}

/**
 * Parses levels given as `READ` or `condor:/READ`, in an array or one space-separated string.
 * Refuses unknown levels and an empty list: a token without a condor:/ scope is unlimited.
 */
export function parseLevels(input: string[] | string, field = 'scopes'): Level[] {
  const items = (Array.isArray(input) ? input : input.split(/\s+/)).map((s) => s.trim()).filter(Boolean);
  if (!items.length) throw new DomainError('INVALID_SCOPE', `${field} must name at least one authorization level`, field);
  const out: Level[] = [];
  for (const item of items) {
    const level = item.startsWith('condor:/') ? item.slice('condor:/'.length) : item;
    if (!(LEVELS as readonly string[]).includes(level)) {
      throw new DomainError('INVALID_SCOPE', `${field}: unknown authorization level (allowed: ${LEVELS.join(', ')})`, field);
    }
    if (!out.includes(level as Level)) out.push(level as Level);
  }
  return out;
}

/** True when `levels` grant something a pilot's scopes do not. */
export const isWiderThanPilot = (levels: Level[]) => [...closure(levels)].some((l) => !closure(PILOT_LEVELS).has(l));

/** The `scope` claim: space-separated `condor:/LEVEL` items. */
export const scopeClaim = (levels: Level[]) => levels.map((l) => `condor:/${l}`).join(' ');
