import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { ApiKeysService } from '../auth/api-keys.service.js';
import { actorName, Principal } from '../auth/principal.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/errors.js';
import { Db } from '../database/db.js';
import { asConflict } from '../database/unique-violation.js';
import { publicKeyFingerprint } from '../identity/identity.service.js';
import { RegisterFrontendDto } from './dto/register-frontend.dto.js';
import { localUserOf, RegisteredFrontend } from './registered-frontend.entity.js';

export const frontendResponse = (f: RegisteredFrontend) => ({
  name: f.name,
  publicKey: f.publicKey,
  fingerprint: publicKeyFingerprint(Buffer.from(f.publicKey, 'base64')),
  apiKeyId: f.apiKeyId,
  localUser: localUserOf(f),
  createdAt: new Date(f.createdAt).toISOString(),
});

/** The factory side of registration: the frontends whose envelopes it accepts. */
@Injectable()
export class FrontendsService {
  constructor(
    private readonly db: Db,
    private readonly keys: ApiKeysService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  /** Registers a frontend and creates its API key (role frontend), both in one transaction; the key is returned once. */
  register(who: Principal, dto: RegisterFrontendDto) {
    // A concurrent register of the same frontend (its row, or its API key's name) is the same conflict.
    return this.db.tx(async (m) => {
      if ((await m.existsBy(RegisteredFrontend, { name: dto.name })) || (await m.existsBy(RegisteredFrontend, { publicKey: dto.publicKey }))) {
        throw new DomainError('FRONTEND_EXISTS', 'a frontend with this name or public key is registered', 'name');
      }
      // On PostgreSQL a concurrent register that committed between the check above and this one shows
      // first as its API key's name: the same conflict, said the same way.
      const { key, secret } = await this.keys.createIn(m, who, `frontend:${dto.name}`, ['frontend'], actorName(who)).catch((err: unknown) => {
        if (err instanceof DomainError && err.code === 'API_KEY_EXISTS') throw new DomainError('FRONTEND_EXISTS', `a frontend with this name or public key is registered (or the API key name frontend:${dto.name} is taken)`, 'name');
        throw err;
      });
      const row = Object.assign(new RegisteredFrontend(), { name: dto.name, publicKey: dto.publicKey, apiKeyId: key.id, localUser: dto.localUser ?? null, createdAt: this.clock.now() });
      await m.insert(RegisteredFrontend, row);
      await this.audit.record(m, { action: 'factory.frontend.register', target: `frontend:${dto.name}`, detail: { fingerprint: frontendResponse(row).fingerprint, apiKeyId: key.id, localUser: localUserOf(row) } });
      return { ...frontendResponse(row), apiKey: secret };
    }).catch(asConflict(() => new DomainError('FRONTEND_EXISTS', 'a frontend with this name or public key is registered', 'name')));
  }

  list(): Promise<RegisteredFrontend[]> {
    return this.db.read((m) => m.find(RegisteredFrontend, { order: { name: 'ASC' } }));
  }
}
