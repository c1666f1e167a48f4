import { IsOptional, Matches } from 'class-validator';
import { FRONTEND_NAME } from '../../common/names.js';

/** A Unix user name as useradd takes it: letters, digits, '_', '.', '-', not starting with a digit, '.' or '-'; at most 32. */
export const UNIX_USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

export class RegisterFrontendDto {
  /** The frontend's name, as its admin's GET /frontend/identity shows it. */
  /** At most 54 characters: its API key is named frontend:<name>. */
  @Matches(FRONTEND_NAME) name!: string;

  /** Its X25519 public key, base64 (from GET /frontend/identity); compare the fingerprint out of band. */
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'publicKey must be a base64 X25519 public key (32 bytes)' }) publicKey!: string;

  /**
   * The local user GlideinWMS's factory maps this frontend's security class to (glideinWMS.xml
   * `<security_class username=...>`): its cache files go under `user_<localUser>/`. Default: its name.
   */
  @IsOptional()
  @Matches(UNIX_USER, { message: "localUser must be a Unix user name: up to 32 letters, digits, '_', '.' or '-', not starting with a digit, '.' or '-'" })
  localUser?: string;
}
