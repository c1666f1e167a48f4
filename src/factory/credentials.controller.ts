import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Audit, Auth, Roles } from '../auth/access.decorator.js';
import type { Principal } from '../auth/principal.js';
import { CacheService } from './cache.service.js';
import { CredentialIntakeService } from './credential-intake.service.js';
import { ListCacheQueryDto } from './dto/list-cache.query.dto.js';
import { Paced } from '../common/read-pacer.js';

@ApiTags('factory')
@ApiBearerAuth()
@Controller('factory')
export class CredentialsController {
  constructor(
    private readonly intake: CredentialIntakeService,
    private readonly cache: CacheService,
  ) {}

  /** A sealed envelope `{v, from, nonce, box[, keyProof]}` from a registered frontend; 200 with the outcome per credential. */
  @Post('credentials')
  @HttpCode(200)
  @Roles('frontend')
  @Audit('factory.credentials.receive')
  receive(@Auth() who: Principal, @Body() envelope: object) {
    return this.intake.receive(who, envelope);
  }

  /** Per frontend, entry and type: state, version, expiry, received time and fingerprint; never the credential. */
  @Get('cache')
  @Paced('lists')
  @Roles('factory-admin', 'auditor')
  list(@Query() q: ListCacheQueryDto) {
    return this.cache.list(q);
  }
}
