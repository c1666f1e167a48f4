import { readFileSync, statSync, writeFileSync } from 'node:fs';
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
    } finally {
      removeDir(a);
      removeDir(b);
    }
  });
});
