import { createHash, randomBytes } from 'node:crypto';
import { Sealer, SealError } from './sealer.js';

const AD = 'site-key:A:1';
/** Decodes a sealed string to its nonce||ciphertext||tag bytes. */
const body = (sealed: string) => Buffer.from(sealed.slice('v1:'.length), 'base64');
const rebuild = (buf: Buffer) => 'v1:' + buf.toString('base64');

describe(Sealer.name, () => {
  const master = randomBytes(32);
  let sealer: Sealer;

  beforeAll(async () => {
    sealer = await Sealer.create(master);
  });

  it('opens what it sealed', () => {
    const plain = Buffer.from('00ff0a0d00deadbeef', 'hex');
    const sealed = sealer.seal(plain, AD);
    expect(sealed.startsWith('v1:')).toBe(true);
    // 24-byte nonce + 16-byte tag around the plaintext.
    expect(body(sealed).length).toBe(24 + plain.length + 16);
    expect(Buffer.from(sealer.open(sealed, AD)).toString('hex')).toBe('00ff0a0d00deadbeef');
    expect(Buffer.from(sealer.open(sealer.seal(new Uint8Array(0), AD), AD)).length).toBe(0);
  });

  it('refuses a ciphertext moved to another row', () => {
    const sealed = sealer.seal(Buffer.from('secret'), AD);
    expect(() => sealer.open(sealed, 'site-key:B:1')).toThrow(SealError);
    expect(() => sealer.open(sealed, 'site-key:A:2')).toThrow(SealError);
    expect(() => sealer.open(sealed, '')).toThrow(SealError);
  });

  it('refuses a flipped byte anywhere: nonce, ciphertext or tag', () => {
    const sealed = sealer.seal(Buffer.from('sixteen byte key'), AD);
    const buf = body(sealed);
    expect(buf.length).toBe(56);
    for (let i = 0; i < buf.length; i++) {
      const bad = Buffer.from(buf);
      bad[i] ^= 0x01;
      expect(() => sealer.open(rebuild(bad), AD)).toThrow(SealError);
    }
  });

  it('refuses truncated or malformed text', () => {
    const buf = body(sealer.seal(Buffer.from('secret'), AD));
    expect(() => sealer.open(rebuild(buf.subarray(0, buf.length - 1)), AD)).toThrow(SealError);
    expect(() => sealer.open(rebuild(buf.subarray(1)), AD)).toThrow(SealError);
    expect(() => sealer.open(rebuild(buf.subarray(0, 39)), AD)).toThrow(new SealError('sealed secret is truncated'));
    expect(() => sealer.open('v1:', AD)).toThrow(new SealError('sealed secret is truncated'));
    expect(() => sealer.open(buf.toString('base64'), AD)).toThrow(new SealError('unknown sealed-secret format'));
    expect(() => sealer.open('v2:' + buf.toString('base64'), AD)).toThrow(new SealError('unknown sealed-secret format'));
  });

  it('refuses another master key', async () => {
    const other = await Sealer.create(randomBytes(32));
    expect(() => other.open(sealer.seal(Buffer.from('secret'), AD), AD)).toThrow(SealError);
  });

  it('refuses a master key that is not 32 bytes', async () => {
    await expect(Sealer.create(randomBytes(31))).rejects.toThrow('master key must be 32 bytes');
    await expect(Sealer.create(randomBytes(33))).rejects.toThrow('master key must be 32 bytes');
  });

  it('keeps its own copy of the master key', async () => {
    const key = randomBytes(32);
    const s = await Sealer.create(key);
    const sealed = s.seal(Buffer.from('secret'), AD);
    key.fill(0);
    expect(Buffer.from(s.open(sealed, AD)).toString()).toBe('secret');
  });

  it('uses a fresh nonce per seal and never shows the plaintext', () => {
    const plain = randomBytes(64);
    const a = sealer.seal(plain, AD);
    const b = sealer.seal(plain, AD);
    expect(a).not.toBe(b);
    expect(body(a).subarray(0, 24).equals(body(b).subarray(0, 24))).toBe(false);
    for (const text of [a, b]) {
      expect(text).not.toContain(plain.toString('hex'));
      expect(text).not.toContain(plain.toString('base64').slice(0, 40));
      expect(text).not.toContain(plain.toString('base64url').slice(0, 40));
    }
    const ascii = Buffer.from('openssl-rand-base64-password-ABCDEFGHIJKLMNOP');
    expect(sealer.seal(ascii, AD)).not.toContain('openssl-rand');
  });

  describe('fingerprint', () => {
    const secret = Buffer.from('5a6d3976596d46794c5756345957', 'hex');

    it('is stable for the same master key, label and secret', async () => {
      const fp = sealer.fingerprint('site-key', secret);
      expect(fp).toMatch(/^[0-9a-f]{32}$/);
      expect(sealer.fingerprint('site-key', Buffer.from(secret))).toBe(fp);
      expect((await Sealer.create(Buffer.from(master))).fingerprint('site-key', secret)).toBe(fp);
    });

    it('differs for another master key, secret or label', async () => {
      const fp = sealer.fingerprint('site-key', secret);
      expect((await Sealer.create(randomBytes(32))).fingerprint('site-key', secret)).not.toBe(fp);
      expect(sealer.fingerprint('site-key', Buffer.concat([secret, Buffer.from([0])]))).not.toBe(fp);
      expect(sealer.fingerprint('api-key', secret)).not.toBe(fp);
    });

    it('is not a plain hash of the secret', () => {
      const fp = sealer.fingerprint('site-key', secret);
      const sha = createHash('sha256').update(secret).digest('hex');
      const labelled = createHash('sha256')
        .update(Buffer.concat([Buffer.from('site-key\0'), secret]))
        .digest('hex');
      expect(sha.startsWith(fp)).toBe(false);
      expect(labelled.startsWith(fp)).toBe(false);
    });
  });
});
