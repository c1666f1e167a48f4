import { Matches, MaxLength, ValidateBy } from 'class-validator';
import { FACTORY_NAME } from '../../common/names.js';

/**
 * A factory base URL glidekey can call: parses as a URL, http or https, a host, no user or password
 * (the API key travels in a header, never in the URL), no query and no fragment.
 */
export function isFactoryUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return false;
  }
  return (
    (u.protocol === 'http:' || u.protocol === 'https:') &&
    u.hostname !== '' &&
    !u.username &&
    !u.password &&
    !u.search &&
    !u.hash &&
    !value.includes('#') &&
    !value.includes('?')
  );
}

export const IsFactoryUrl = () =>
  ValidateBy({
    name: 'isFactoryUrl',
    validator: { validate: isFactoryUrl, defaultMessage: () => 'url must be an http(s) URL with a host, without credentials, query or fragment' },
  });

export class RegisterFactoryDto {
  @Matches(FACTORY_NAME) name!: string;

  /** The factory's glidekey base URL, e.g. https://factory.example.org:8443 (the column holds 512). */
  @MaxLength(512)
  @Matches(/^https?:\/\/[A-Za-z0-9.:[\]-]{1,253}(:\d{1,5})?(\/[A-Za-z0-9._~/-]*)?$/, { message: 'url must be an http(s) URL' })
  @IsFactoryUrl()
  url!: string;

  /** The API key the factory admin created for us (role frontend). */
  @Matches(/^gk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/, { message: 'apiKey must be a glidekey API key' }) apiKey!: string;

  /** The factory's X25519 public key, base64, from its GET /factory/identity: pinned. */
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'publicKey must be a base64 X25519 public key (32 bytes)' }) publicKey!: string;
}

/** An http:// URL whose host is not this machine's loopback: its requests' API key header would cross the network in clear. */
export function plainHttpOffLoopback(url: string): boolean {
  const u = new URL(url);
  return u.protocol === 'http:' && !(u.hostname === 'localhost' || u.hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(u.hostname));
}
