import { publicKeyFingerprint } from './identity.service.js';
import type { Transition } from './identity.service.js';

/** A public key as the API shows it, with its fingerprint (what admins compare out of band). */
export const publicKeyResponse = (publicKey: string) => ({ publicKey, fingerprint: publicKeyFingerprint(Buffer.from(publicKey, 'base64')) });

/**
 * GET /frontend/identity: its name and public key and, during a rotation's transition (which lasts
 * at most `transitionMs`), the previous key's fingerprint, since when, and until when at the latest it is kept.
 */
export function frontendIdentityResponse(name: string, publicKey: string, transition: Transition | null, transitionMs: number) {
  const current = { name, ...publicKeyResponse(publicKey) };
  if (!transition) return current;
  return {
    ...current,
    previous: {
      fingerprint: publicKeyFingerprint(Buffer.from(transition.previousPublicKey, 'base64')),
      since: new Date(transition.rotatedAt).toISOString(),
      until: new Date(transition.rotatedAt + transitionMs).toISOString(),
    },
  };
}
