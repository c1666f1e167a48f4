import { Matches } from 'class-validator';

export class RegisterFactoryDto {
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/) name!: string;

  /** The factory's glidekey base URL, e.g. https://factory.example.org:8443. */
  @Matches(/^https?:\/\/[A-Za-z0-9.:[\]-]{1,253}(:\d{1,5})?(\/[A-Za-z0-9._~/-]*)?$/, { message: 'url must be an http(s) URL' }) url!: string;

  /** The API key the factory admin created for us (role frontend). */
  @Matches(/^gk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/, { message: 'apiKey must be a glidekey API key' }) apiKey!: string;

  /** The factory's X25519 public key, base64, from its GET /factory/identity: pinned. */
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'publicKey must be a base64 X25519 public key (32 bytes)' }) publicKey!: string;
}
