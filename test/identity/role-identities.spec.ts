import sodium from 'libsodium-wrappers';
import { publicKeyFingerprint } from '../../src/identity/identity.service.js';
import { startTestApp } from '../support/app.js';
import { tempDir, removeDir } from '../support/service.js';

describe('role identities (X25519)', () => {
  it('publishes each role public key, keeps it across restarts, and keeps the private key only sealed', async () => {
    await sodium.ready;
    const dataDir = tempDir();
    const first = await startTestApp({ dataDir });
    const fe = (await (await fetch(`${first.api}/frontend/identity`)).json()) as { name: string; publicKey: string; fingerprint: string };
    const fa = (await (await fetch(`${first.api}/factory/identity`)).json()) as { publicKey: string; fingerprint: string };
    expect(fe.name).toBe('frontend.example.org');
    expect(Buffer.from(fe.publicKey, 'base64')).toHaveLength(32);
    expect(fe.fingerprint).toBe(publicKeyFingerprint(Buffer.from(fe.publicKey, 'base64')));
    expect(fe.publicKey).not.toBe(fa.publicKey);
    const rows = await first.db.dataSource.query('SELECT role, public_key, sealed_private_key FROM identities ORDER BY role');
    expect(rows.map((r: { role: string }) => r.role)).toEqual(['factory', 'frontend']);
    expect(rows.every((r: { sealed_private_key: string }) => r.sealed_private_key.startsWith('v1:'))).toBe(true);
    // The sealed private key is the one that matches the published public key.
    const { IdentityService } = await import('../../src/identity/identity.service.js');
    const kp = await first.app.get(IdentityService).keyPair('frontend');
    expect(Buffer.from(sodium.crypto_scalarmult_base(kp.privateKey)).toString('base64')).toBe(fe.publicKey);
    await first.app.close();
    const second = await startTestApp({ dataDir });
    expect(((await (await fetch(`${second.api}/frontend/identity`)).json()) as { publicKey: string }).publicKey).toBe(fe.publicKey);
    await second.close();
    removeDir(dataDir);
  });

  it('serves only the identity of an enabled role', async () => {
    const t = await startTestApp({ env: { GLIDEKEY_ROLES: 'factory' } });
    expect((await fetch(`${t.api}/frontend/identity`)).status).toBe(404);
    expect((await fetch(`${t.api}/factory/identity`)).status).toBe(200);
    await t.close();
  });
});
