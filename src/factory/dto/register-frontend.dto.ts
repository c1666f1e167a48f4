import { Matches } from 'class-validator';

export class RegisterFrontendDto {
  /** The frontend's name, as its admin's GET /frontend/identity shows it. */
  /** At most 54 characters: its API key is named frontend:<name>. */
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,53}$/) name!: string;

  /** Its X25519 public key, base64 (from GET /frontend/identity); compare the fingerprint out of band. */
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'publicKey must be a base64 X25519 public key (32 bytes)' }) publicKey!: string;
}
