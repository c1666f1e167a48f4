import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/access.decorator.js';
import { Settings } from '../config/settings.js';
import { frontendIdentityResponse } from './identity.response.js';
import { IdentityService } from './identity.service.js';

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
    return frontendIdentityResponse(
      this.settings.config.frontend.name,
      publicKey,
      transition,
      this.settings.config.forwarding.identityTransitionSeconds * 1000,
    );
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
