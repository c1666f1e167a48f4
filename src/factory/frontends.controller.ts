import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Audit, Auth, Roles } from '../auth/access.decorator.js';
import type { Principal } from '../auth/principal.js';
import { FrontendNamePipe } from '../common/params.js';
import { RegisterFrontendDto } from './dto/register-frontend.dto.js';
import { UpdateFrontendDto } from './dto/update-frontend.dto.js';
import { frontendResponse } from './frontend.response.js';
import { FrontendsService } from './frontends.service.js';

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

  /** Re-pin its public key (out of band) and/or rotate its API key: `{rotateApiKey: true}` returns the new key once. */
  @Patch(':name')
  @Roles('factory-admin')
  @Audit('factory.frontend.update')
  update(@Auth() who: Principal, @Param('name', FrontendNamePipe) name: string, @Body() dto: UpdateFrontendDto) {
    return this.frontends.update(who, name, dto);
  }

  /** Forget a frontend: its API key, cached credentials (and files), tombstones, tickets and renewals. */
  @Delete(':name')
  @HttpCode(204)
  @Roles('factory-admin')
  @Audit('factory.frontend.delete')
  async remove(@Auth() who: Principal, @Param('name', FrontendNamePipe) name: string): Promise<void> {
    await this.frontends.remove(who, name);
  }
}
