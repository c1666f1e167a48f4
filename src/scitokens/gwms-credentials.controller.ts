import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Auth, Roles } from '../auth/access.decorator.js';
import type { Principal } from '../auth/principal.js';
import { GwmsCredentialDto } from './dto/gwms-credential.dto.js';
import { SciTokenHandoutService } from './scitoken-handout.service.js';

/**
 * For GlideinWMS's credential generator plugin (contrib/glideinwms/glidekey_generator.py). The one
 * route that returns a stored secret it did not create: that is its whole purpose, so it is open to
 * the credential-reader role alone, so that no admin key need sit on a frontend host. It is no
 * boundary against a frontend-admin, who may grant that role and already holds every site's key
 * (GET /sites/{site}/keyfile).
 */
@ApiTags('gwms')
@ApiBearerAuth()
@Controller('gwms/credentials')
export class GwmsCredentialsController {
  constructor(private readonly handouts: SciTokenHandoutService) {}

  /** The stored SciToken for one entry: `{token, lifetimeSeconds, name, expiresAt}`, or 404 CREDENTIAL_NO_MATCH. */
  @Post('scitoken')
  @HttpCode(200)
  @Roles('credential-reader')
  scitoken(@Auth() who: Principal, @Body() dto: GwmsCredentialDto) {
    return this.handouts.handOut(who, dto);
  }
}
