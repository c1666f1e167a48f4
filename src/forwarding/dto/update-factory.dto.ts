import { IsInt, IsOptional, Matches, MaxLength, Min } from 'class-validator';
import { IsFactoryUrl, RegisterFactoryDto } from './register-factory.dto.js';

/** PATCH /factories/{name}: any of the URL, the API key it gave us, its pinned public key. */
export class UpdateFactoryDto implements Partial<Omit<RegisterFactoryDto, 'name'>> {
  @IsOptional()
  @MaxLength(512)
  @Matches(/^https?:\/\/[A-Za-z0-9.:[\]-]{1,253}(:\d{1,5})?(\/[A-Za-z0-9._~/-]*)?$/, { message: 'url must be an http(s) URL' })
  @IsFactoryUrl()
  url?: string;

  @IsOptional() @Matches(/^gk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/, { message: 'apiKey must be a glidekey API key' }) apiKey?: string;

  /** Re-pinning: the factory's new X25519 public key, base64, as its GET /factory/identity shows it. */
  @IsOptional() @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'publicKey must be a base64 X25519 public key (32 bytes)' }) publicKey?: string;

  /** The factory's rowVersion as last read; a different current version answers 409 STALE_VERSION. */
  @IsOptional() @IsInt() @Min(1) rowVersion?: number;
}
