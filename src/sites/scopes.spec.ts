import { DomainError } from '../common/errors.js';
import { closure, isWiderThanPilot, Level, LEVELS, parseLevels, PILOT_LEVELS, scopeClaim } from './scopes.js';

/** The DomainError a call throws, so its code can be asserted exactly. */
function domainError(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    return err as DomainError;
  }
  throw new Error('expected a DomainError');
}

describe('scopes', () => {
  describe(parseLevels.name, () => {
    it('accepts bare and condor:/ levels, arrays and space-separated strings', () => {
      expect(parseLevels('READ')).toEqual(['READ']);
      expect(parseLevels('condor:/READ')).toEqual(['READ']);
      expect(parseLevels(['READ', 'condor:/ADVERTISE_STARTD'])).toEqual(['READ', 'ADVERTISE_STARTD']);
      expect(parseLevels('condor:/READ condor:/ADVERTISE_STARTD  ADVERTISE_MASTER\n')).toEqual(['READ', 'ADVERTISE_STARTD', 'ADVERTISE_MASTER']);
      expect(parseLevels([...LEVELS])).toEqual([...LEVELS]);
    });

    it('removes duplicates, keeping first-seen order', () => {
      expect(parseLevels('WRITE READ condor:/WRITE READ')).toEqual(['WRITE', 'READ']);
      expect(parseLevels(['condor:/READ', 'READ'])).toEqual(['READ']);
    });

    it.each([['FOO'], ['condor:/FOO'], ['read'], ['condor:/read'], ['condor:/'], ['condor:READ'], ['READ,WRITE'], ['READ FOO'], [['READ', 'FOO']]])(
      'refuses unknown level %j with INVALID_SCOPE',
      (input) => {
        const err = domainError(() => parseLevels(input as string | string[]));
        expect(err.code).toBe('INVALID_SCOPE');
        expect(err.field).toBe('scopes');
      },
    );

    it.each([[''], ['   '], [[]], [['', ' ']]])('refuses empty input %j with INVALID_SCOPE', (input) => {
      expect(domainError(() => parseLevels(input as string | string[])).code).toBe('INVALID_SCOPE');
    });

    it('names the given field', () => {
      expect(domainError(() => parseLevels('FOO', 'policy.scopes')).field).toBe('policy.scopes');
    });
  });

  describe(closure.name, () => {
    const sorted = (levels: Level[]) => [...closure(levels)].sort();
    it('follows the implications', () => {
      expect(sorted(['READ'])).toEqual(['READ']);
      expect(sorted(['WRITE'])).toEqual(['READ', 'WRITE']);
      expect(sorted(['DAEMON'])).toEqual(['DAEMON', 'READ', 'WRITE']);
      expect(sorted(['ADMINISTRATOR'])).toEqual(['ADMINISTRATOR', 'READ', 'WRITE']);
      expect(sorted(['ADVERTISE_STARTD'])).toEqual(['ADVERTISE_STARTD', 'READ']);
      expect(sorted(['NEGOTIATOR', 'CONFIG'])).toEqual(['CONFIG', 'NEGOTIATOR', 'READ']);
      expect(sorted([])).toEqual([]);
    });
  });

  describe(isWiderThanPilot.name, () => {
    it('is false for the pilot levels and subsets of them', () => {
      expect(isWiderThanPilot(PILOT_LEVELS)).toBe(false);
      expect(isWiderThanPilot(['READ'])).toBe(false);
      expect(isWiderThanPilot(['ADVERTISE_MASTER'])).toBe(false);
    });

    it.each<Level[]>([['WRITE'], ['DAEMON'], ['ADMINISTRATOR'], ['NEGOTIATOR'], ['CONFIG'], ['ADVERTISE_SCHEDD']])('is true for %s', (level) => {
      expect(isWiderThanPilot([level])).toBe(true);
      expect(isWiderThanPilot([...PILOT_LEVELS, level])).toBe(true);
    });
  });

  describe(scopeClaim.name, () => {
    it('writes space-separated condor:/ items', () => {
      expect(scopeClaim(PILOT_LEVELS)).toBe('condor:/READ condor:/ADVERTISE_STARTD condor:/ADVERTISE_MASTER');
      expect(scopeClaim(parseLevels(scopeClaim(PILOT_LEVELS)))).toBe('condor:/READ condor:/ADVERTISE_STARTD condor:/ADVERTISE_MASTER');
    });
  });
});
