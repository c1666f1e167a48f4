import { Injectable, OnModuleInit } from '@nestjs/common';
import { EventBus } from '../events/event-bus.js';
import { Clock } from '../common/clock.js';
import { deriveSigningKey, scramble } from '../crypto/condor-key.js';
import { importSigningKey, SigningKey } from '../crypto/idtoken.js';
import { Random } from '../crypto/random.js';
import { Sealer } from '../crypto/sealer.js';
import { KEY_STATE } from './key-usability.js';
import { KeySource, SiteKey, siteKeyAd } from './site-key.entity.js';
import type { SiteKeyRecord } from './sites.types.js';

/** Generated keys: 64 random bytes, like the collector's own POOL key. */
const GENERATED_KEY_BYTES = 64;

/**
 * Key material: sealing new versions, and the derived HS256 keys, derived once per version and
 * held in memory as non-extractable CryptoKeys. Neither raw nor derived bytes are ever persisted.
 */
@Injectable()
export class SiteKeysService implements OnModuleInit {
  private readonly signing = new Map<string, Promise<SigningKey>>();

  constructor(
    private readonly sealer: Sealer,
    private readonly random: Random,
    private readonly clock: Clock,
    private readonly events: EventBus,
  ) {}

  onModuleInit(): void {
    this.events.on('keys.retired', ({ keyIds }) => this.forget(keyIds));
  }

  generate(): Buffer {
    return this.random.keyBytes(GENERATED_KEY_BYTES);
  }

  /** A new key row for `raw`, sealed to (site id, version). The caller inserts it and wipes `raw`. */
  newKey(siteId: string, version: number, kid: string, raw: Uint8Array, source: KeySource): SiteKey {
    return Object.assign(new SiteKey(), {
      id: this.random.uuid(),
      siteId,
      version,
      kid,
      state: KEY_STATE.active,
      sealedKey: this.sealer.seal(raw, siteKeyAd(siteId, version)),
      fingerprint: this.sealer.fingerprint('site-key', raw),
      source,
      keyLength: raw.length,
      createdAt: this.clock.now(),
      graceUntil: null,
      retiredAt: null,
    } satisfies SiteKey);
  }

  /** The HS256 key of this version (HKDF of the password, POOL doubled), cached per key id. */
  signingKey(key: SiteKeyRecord): Promise<SigningKey> {
    let hit = this.signing.get(key.id);
    if (!hit) {
      hit = this.derive(key);
      this.signing.set(key.id, hit);
      hit.catch(() => this.signing.delete(key.id));
    }
    return hit;
  }

  /**
   * The HS256 key of a version whose raw bytes the caller holds (a rotation's new key, before its
   * transaction commits): derived without unsealing, and not cached, since the version may yet be
   * rolled back; signingKey() derives it again for later mints.
   */
  async signingKeyFromRaw(key: SiteKeyRecord, raw: Uint8Array): Promise<SigningKey> {
    const derived = deriveSigningKey(raw, key.kid);
    try {
      return await importSigningKey(derived);
    } finally {
      derived.fill(0);
    }
  }

  /** The passwords.d file HTCondor reads for this version: the scrambled password bytes. */
  keyFile(key: SiteKeyRecord): Buffer {
    const raw = this.sealer.open(key.sealedKey, siteKeyAd(key.siteId, key.version));
    try {
      return scramble(raw);
    } finally {
      raw.fill(0);
    }
  }

  /** Drops cached derived keys of keys retired or deleted (a `keys.retired` event). */
  private forget(keyIds: Iterable<string>): void {
    for (const id of keyIds) this.signing.delete(id);
  }

  private async derive(key: SiteKeyRecord): Promise<SigningKey> {
    const raw = this.sealer.open(key.sealedKey, siteKeyAd(key.siteId, key.version));
    const derived = deriveSigningKey(raw, key.kid);
    raw.fill(0);
    try {
      return await importSigningKey(derived);
    } finally {
      derived.fill(0);
    }
  }
}
