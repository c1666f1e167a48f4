import { hkdfSync } from 'node:crypto';

const MASK = [0xde, 0xad, 0xbe, 0xef];

/** HTCondor's passwords.d "scramble" (secure_file.cpp simple_scramble): XOR with DEADBEEF; its own inverse. */
export function scramble(bytes: Uint8Array): Buffer {
  const out = Buffer.alloc(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] ^ MASK[i % 4];
  return out;
}

/** Reverses scramble(): the raw password bytes of a passwords.d file. Nothing is trimmed. */
export const unscramble = scramble;

/**
 * The HS256 key HTCondor derives from a password (condor_auth_passwd.cpp):
 * HKDF-SHA256(ikm = raw, salt "htcondor", info "master jwt", 32 bytes).
 * The key named POOL is doubled first: HTCondor keeps pre-8.9.12 tokens valid that way.
 */
export function deriveSigningKey(raw: Uint8Array, kid: string): Buffer {
  const ikm = kid === 'POOL' ? Buffer.concat([raw, raw]) : Buffer.from(raw);
  try {
    return Buffer.from(hkdfSync('sha256', ikm, 'htcondor', 'master jwt', 32));
  } finally {
    ikm.fill(0);
  }
}
