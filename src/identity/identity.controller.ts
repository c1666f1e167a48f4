import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/access.decorator.js';
import { Settings } from '../config/settings.js';
import { IdentityService, publicKeyFingerprint } from './identity.service.js';

/** The frontend's public identity, for a factory admin to register (public: it is a public key). */
@ApiTags('forwarding')
@Controller('frontend')
export class FrontendIdentityController {
  constructor(
    private readonly identity: IdentityService,
    private readonly settings: Settings,
  ) {}

  /** During a rotation's transition, also the previous key's fingerprint, since when, and until when at the latest it is kept. */
  @Get('identity')
  @Public()
  async get() {
    const { publicKey, transition } = await this.identity.state('frontend');
    const current = { name: this.settings.config.frontend.name, publicKey, fingerprint: publicKeyFingerprint(Buffer.from(publicKey, 'base64')) };
    if (!transition) return current;
    const until = transition.rotatedAt + this.settings.config.forwarding.identityTransitionSeconds * 1000;
    return {
      ...current,
      previous: {
        fingerprint: publicKeyFingerprint(Buffer.from(transition.previousPublicKey, 'base64')),
        since: new Date(transition.rotatedAt).toISOString(),
        until: new Date(until).toISOString(),
      },
    };
  }
}

/** The factory's public identity, for a frontend admin to pin. */
@ApiTags('factory')
@Controller('factory')
export class FactoryIdentityController {
  constructor(private readonly identity: IdentityService) {}

  @Get('identity')
  @Public()
  get() {
    return this.identity.publicIdentity('factory');
  }
}
