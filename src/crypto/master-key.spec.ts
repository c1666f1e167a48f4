import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMasterKey, MasterKeyError, readMasterKey } from './master-key.js';

describe('master-key', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gk-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes a key file with an explicit mode (chmod, so the umask cannot interfere). */
  const keyFile = (content: Buffer | string, mode = 0o600) => {
    const p = join(dir, 'master.key');
    writeFileSync(p, content);
    chmodSync(p, mode);
    return p;
  };
  const error = (fn: () => unknown): MasterKeyError => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(MasterKeyError);
      return err as MasterKeyError;
    }
    throw new Error('expected a MasterKeyError');
  };

  describe(createMasterKey.name, () => {
    it('writes a 0600 base64 file that readMasterKey reads back', () => {
      const p = join(dir, 'sub', 'master.key');
      const key = createMasterKey(p);
      expect(key.length).toBe(32);
      expect(statSync(p).mode & 0o777).toBe(0o600);
      expect(readFileSync(p, 'utf8')).toBe(key.toString('base64') + '\n');
      expect(readMasterKey(p).equals(key)).toBe(true);
    });

    it('makes a different key each time', () => {
      expect(createMasterKey(join(dir, 'a')).equals(createMasterKey(join(dir, 'b')))).toBe(false);
    });

    it('refuses to overwrite an existing file', () => {
      const p = keyFile('keep me');
      expect(error(() => createMasterKey(p)).message).toContain('refusing to overwrite');
      expect(readFileSync(p, 'utf8')).toBe('keep me');
    });
  });

  describe(readMasterKey.name, () => {
    it('accepts 32 raw bytes, NULs and newlines included', () => {
      const raw = Buffer.concat([Buffer.from([0x00, 0x0a, 0x0d, 0x20]), randomBytes(27), Buffer.from([0x0a])]);
      expect(raw.length).toBe(32);
      expect(readMasterKey(keyFile(raw)).equals(raw)).toBe(true);
    });

    it('accepts base64 on one line, with or without a trailing newline', () => {
      const key = randomBytes(32);
      expect(readMasterKey(keyFile(key.toString('base64') + '\n')).equals(key)).toBe(true);
      expect(readMasterKey(keyFile(key.toString('base64'))).equals(key)).toBe(true);
    });

    it.each([0o644, 0o640, 0o604, 0o660, 0o601])('refuses mode %o with a chmod hint', (mode) => {
      const p = keyFile(randomBytes(32), mode);
      const err = error(() => readMasterKey(p));
      expect(err.message).toContain('chmod 600');
      expect(err.message).toContain(p);
    });

    it.each([
      ['31 raw bytes', randomBytes(31)],
      ['33 raw bytes', randomBytes(33)],
      ['empty', Buffer.alloc(0)],
      ['base64 of 31 bytes', randomBytes(31).toString('base64') + '\n'],
      ['base64 of 33 bytes', randomBytes(33).toString('base64') + '\n'],
      ['base64url of 32 bytes', Buffer.from('fb'.repeat(32), 'hex').toString('base64url') + '=\n'],
      ['two base64 lines', randomBytes(32).toString('base64') + '\n' + randomBytes(32).toString('base64') + '\n'],
    ])('refuses %s', (_name, content) => {
      const p = keyFile(content);
      expect(error(() => readMasterKey(p)).message).toContain('must hold 32 bytes');
    });

    it('refuses a directory and a missing file', () => {
      expect(error(() => readMasterKey(dir)).message).toContain('not a regular file');
      expect(() => readMasterKey(join(dir, 'missing'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    });
  });
});
