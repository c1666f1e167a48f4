import { Equals, IsOptional, Matches } from 'class-validator';

/** PATCH /factory/frontends/{name}: re-pin its public key (out of band), and/or rotate its API key. */
export class UpdateFrontendDto {
  /** Its new X25519 public key, base64 (from its admin's GET /frontend/identity); compare the fingerprint out of band. */
  @IsOptional() @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'publicKey must be a base64 X25519 public key (32 bytes)' }) publicKey?: string;

  /** true: a new API key (returned once); the old one stops working when this commits. */
  @IsOptional() @Equals(true, { message: 'rotateApiKey must be true when given' }) rotateApiKey?: true;
}
