import { randomBytes } from 'node:crypto';
import sodium from 'libsodium-wrappers';

const PREFIX = 'v1:';

/**
 * Secrets at rest: XChaCha20-Poly1305 (libsodium AEAD) under the master key, with the row's
 * identity (e.g. `site-key:<site>:<version>`) as associated data, so a ciphertext moved to
 * another row fails to open.
 */
export class Sealer {
  private constructor(private readonly key: Uint8Array) {}

  /** Waits for libsodium and keeps a private copy of the 32-byte master key. */
  static async create(masterKey: Uint8Array): Promise<Sealer> {
    await sodium.ready;
    if (masterKey.length !== sodium.crypto_aead_xchacha20poly1305_ietf_KEYBYTES) throw new Error('master key must be 32 bytes');
    return new Sealer(Uint8Array.from(masterKey));
  }

  /** Encrypts and authenticates `plain` bound to `ad`; returns printable text for a text column. */
  seal(plain: Uint8Array, ad: string): string {
    // Node's CSPRNG: libsodium-wrappers' randombytes_buf draws 4 bytes per getRandomValues call, which
    // made the nonce cost more than the encryption on the outbox and cache paths (one seal per row).
    const nonce = randomBytes(sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    const ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, ad, null, nonce, this.key);
    return PREFIX + Buffer.concat([nonce, ct]).toString('base64');
  }

  /** Opens what seal() made for the same `ad`; throws SealError on any mismatch or damage. */
  open(sealed: string, ad: string): Uint8Array {
    if (!sealed.startsWith(PREFIX)) throw new SealError('unknown sealed-secret format');
    const buf = Buffer.from(sealed.slice(PREFIX.length), 'base64');
    const n = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    if (buf.length < n + sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES) throw new SealError('sealed secret is truncated');
    try {
      return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, buf.subarray(n), ad, buf.subarray(0, n), this.key);
    } catch {
      throw new SealError('sealed secret failed authentication (wrong master key, wrong row, or tampered)');
    }
  }

  /** A keyed fingerprint: identifies a secret without letting anyone test guesses of it offline. */
  fingerprint(label: string, secret: Uint8Array): string {
    const k = sodium.crypto_generichash(32, `glidekey fingerprint key`, this.key);
    const input = Buffer.concat([Buffer.from(`${label}\0`), secret]);
    const h = sodium.crypto_generichash(32, input, k);
    k.fill(0);
    input.fill(0);
    return Buffer.from(h).toString('hex').slice(0, 32);
  }
}

export class SealError extends Error {}
