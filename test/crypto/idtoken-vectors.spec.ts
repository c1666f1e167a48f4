import { existsSync, readFileSync } from 'node:fs';
import { SHARED_VECTORS_FILE, VECTORS, VECTORS_FILE } from '../support/vectors.js';

describe("GlideinWMS's IDTOKEN vectors", () => {
  it('are kept in the repository, byte for byte the shared copy wherever ../shared is beside it', () => {
    expect(VECTORS.map((v) => v.name).sort()).toEqual(['pool-ascii', 'pool-binary', 'site-ascii', 'site-binary']);
    if (existsSync(SHARED_VECTORS_FILE)) expect(readFileSync(VECTORS_FILE).equals(readFileSync(SHARED_VECTORS_FILE))).toBe(true);
  });
});
