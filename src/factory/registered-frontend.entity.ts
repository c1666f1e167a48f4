import { Column, Entity, PrimaryColumn } from 'typeorm';
import { msColumn } from '../database/columns.js';

/** A VO frontend this factory accepts sealed credentials from: its pinned public key and its API key. */
@Entity('registered_frontends')
export class RegisteredFrontend {
  @PrimaryColumn({ type: 'varchar', length: 128 })
  name!: string;

  /** X25519, base64: envelopes must be sealed with the matching private key. */
  @Column({ name: 'public_key', type: 'varchar', length: 64, unique: true })
  publicKey!: string;

  /** The API key (role frontend) handed to its admin. */
  @Column({ name: 'api_key_id', type: 'varchar', length: 16 })
  apiKeyId!: string;

  /** The local user GlideinWMS maps its security class to: cache files go under user_<localUser>/. Null: its name (registered before this was kept). */
  @Column({ name: 'local_user', type: 'varchar', length: 32, nullable: true })
  localUser!: string | null;

  @Column(msColumn('created_at'))
  createdAt!: number;
}

/** Where a frontend's cache files go: its local user, or its name. */
export const localUserOf = (f: Pick<RegisteredFrontend, 'name' | 'localUser'>) => f.localUser ?? f.name;
