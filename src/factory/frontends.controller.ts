import { Body, Controller, Get, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Audit, Auth, Roles } from '../auth/access.decorator.js';
import type { Principal } from '../auth/principal.js';
import { RegisterFrontendDto } from './dto/register-frontend.dto.js';
import { frontendResponse, FrontendsService } from './frontends.service.js';

@ApiTags('factory')
@ApiBearerAuth()
@Controller('factory/frontends')
export class FrontendsController {
  constructor(private readonly frontends: FrontendsService) {}

  /** Register a frontend (name, public key). 201 returns its API key (role frontend), the only time it is shown. */
  @Post()
  @Roles('factory-admin')
  @Audit('factory.frontend.register')
  register(@Auth() who: Principal, @Body() dto: RegisterFrontendDto) {
    return this.frontends.register(who, dto);
  }

  /** Extension: the registered frontends and their fingerprints. */
  @Get()
  @Roles('factory-admin', 'auditor')
  async list() {
    return (await this.frontends.list()).map(frontendResponse);
  }
}
