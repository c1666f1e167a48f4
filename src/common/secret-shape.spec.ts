import { randomBytes, randomUUID } from 'node:crypto';
import { hasCredentialForm, looksLikeCredential } from './secret-shape.js';

describe('looksLikeCredential', () => {
  it('knows credentials', () => {
    const b64 = () => randomBytes(32).toString('base64url');
    let bare = 0;
    for (let i = 0; i < 2000; i++) {
      // glidekey's own credentials, and hex, by their form: every one.
      expect([i, looksLikeCredential(`gk_${randomBytes(8).toString('hex')}_${b64()}`)]).toEqual([i, true]);
      expect([i, looksLikeCredential(`gkt_${randomBytes(8).toString('hex')}_${b64()}`)]).toEqual([i, true]);
      expect([i, looksLikeCredential(`gkr_${randomBytes(8).toString('hex')}_${b64()}`)]).toEqual([i, true]);
      expect([i, looksLikeCredential(randomBytes(32).toString('hex'))]).toEqual([i, true]);
      if (looksLikeCredential(b64())) bare++;
      if (looksLikeCredential(randomBytes(32).toString('base64'))) bare++;
    }
    // Someone else's bare base64 secret, by its look: nearly all (a best effort; about 0.3% slip).
    expect(bare).toBeGreaterThan(0.98 * 4000);
    expect(looksLikeCredential('eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl')).toBe(true);
    expect(looksLikeCredential('gk_0123456789abcdef')).toBe(true);
    // A renewal credential's start, even cut short: never accepted as a name or request id.
    expect(looksLikeCredential('gkr_0123456789abcdef')).toBe(true);
    expect(hasCredentialForm('x-gkr_0123456789abcdef_')).toBe(true);
  });

  it('leaves names and identifiers alone', () => {
    for (const name of [
      'CMS_T2_US_Nebraska_Red_gpu_long_name_12345',
      'OSG_US_Nebraska_ce1_ThisIsAVeryLongEntryName2024',
      'GlideinSite2024LongNameWithCamelCase123Abc',
      'Fermilab_CMS_T1_US_FNAL_CE_condor_ce_01_gpu',
      'frontend.example.org',
      'factory.opensciencegrid.org:8443',
      'osg-factory-production.opensciencegrid.org',
      'apikey:frontend:frontend.example.org',
      'site:CMS_T2_Example',
      randomBytes(16).toString('hex'), // a jti
      randomUUID(),
      'req-2026-12-02T13:00:00Z-0001',
    ]) {
      expect([name, looksLikeCredential(name)]).toEqual([name, false]);
    }
  });
});
