import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { deriveSigningKey, unscramble } from '../../src/crypto/condor-key.js';
import { idTokenSignedBy, importSigningKey, parseIdToken, signIdToken } from '../../src/crypto/idtoken.js';
import { ROOT } from '../support/service.js';
import { VECTORS, VECTORS_FILE } from '../support/vectors.js';

// The benchmark's GlideinWMS-equivalent baseline runs on Debian's interpreter and PyJWT only.
const PY = '/usr/bin/python3';
const HAS_JWT = spawnSync(PY, ['-c', 'import jwt, cryptography'], { stdio: 'ignore' }).status === 0;
const SCRIPT = join(ROOT, 'bench', 'gwms_baseline.py');

(HAS_JWT ? describe : describe.skip)(
  `bench/gwms_baseline.py${HAS_JWT ? '' : ' (skipped: /usr/bin/python3 with jwt and cryptography is not installed)'}`,
  () => {
    it("mints, from the vectors' key files, the vectors' tokens byte for byte, which glidekey's verifier accepts and glidekey would sign alike", async () => {
      const out = JSON.parse(execFileSync(PY, [SCRIPT, 'check', VECTORS_FILE], { encoding: 'utf8' }));
      expect(out.tokens.map((t: { name: string }) => t.name)).toEqual(VECTORS.map((v) => v.name));
      for (const [i, v] of VECTORS.entries()) {
        const token: string = out.tokens[i].jwt;
        expect(token).toBe(v.jwt);
        const key = await importSigningKey(deriveSigningKey(unscramble(Buffer.from(v.scrambled_file_hex, 'hex')), v.kid));
        expect(await idTokenSignedBy(token, key)).toBe(true);
        const parsed = parseIdToken(token)!;
        const c = parsed.claims as { sub: string; iat: number; nbf: number; jti: string; iss: string; exp: number; scope: string };
        expect(await signIdToken(parsed.header.kid, c, key)).toBe(token);
        // A different key is refused: the check can fail.
        const other = await importSigningKey(deriveSigningKey(Buffer.from('not the key'), v.kid));
        expect(await idTokenSignedBy(token, other)).toBe(false);
      }
    });
  },
);
