import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, tempDir } from '../../test/support/service.js';
import { replicaId } from './lease.service.js';

describe(replicaId.name, () => {
  it('is made once per data directory, kept owner-only, and read back the same after a restart', () => {
    const a = tempDir();
    const b = tempDir();
    try {
      const first = replicaId(a);
      expect(first).toMatch(/^[0-9a-f-]{36}$/);
      expect(replicaId(a)).toBe(first);
      expect(statSync(join(a, 'replica-id')).mode & 0o777).toBe(0o600);
      expect(readFileSync(join(a, 'replica-id'), 'utf8').trim()).toBe(first);
      expect(replicaId(b)).not.toBe(first);
      writeFileSync(join(b, 'replica-id'), 'garbage');
      expect(() => replicaId(b)).toThrow(/does not hold a replica id/);
      writeFileSync(join(b, 'replica-id'), '0123456789abcdef0123456789abcdef----');
      expect(() => replicaId(b)).toThrow(/does not hold a replica id/);
    } finally {
      removeDir(a);
      removeDir(b);
    }
  });

  it('takes an empty file (a crash while it was first written) as none: a new id, written whole, and no refusal to start', () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir, 'replica-id'), '');
      const id = replicaId(dir);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(readFileSync(join(dir, 'replica-id'), 'utf8')).toBe(`${id}\n`);
      expect(statSync(join(dir, 'replica-id')).mode & 0o777).toBe(0o600);
      expect(replicaId(dir)).toBe(id);
      // Written by rename: no temporary file is left beside it.
      expect(readdirSync(dir)).toEqual(['replica-id']);
    } finally {
      removeDir(dir);
    }
  });
});
