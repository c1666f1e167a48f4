import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Audit, Auth, Roles } from './access.decorator.js';
import { apiKeyResponse, createdApiKeyResponse } from './api-key.response.js';
import { ApiKeysService } from './api-keys.service.js';
import { ApiKeyRefPipe } from './api-key.secret.js';
import { CreateApiKeyDto } from './dto/create-api-key.dto.js';
import { actorName, type Principal } from './principal.js';

@ApiTags('api keys')
@ApiBearerAuth()
@Controller('apikeys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  /** Create an API key with roles you may grant. The response is the only time the secret is shown. */
  @Post()
  @Roles('frontend-admin', 'factory-admin')
  @Audit('apikey.create')
  async create(@Auth() who: Principal, @Body() dto: CreateApiKeyDto) {
    const { key, secret } = await this.keys.create(who, dto.name, dto.roles, actorName(who));
    return createdApiKeyResponse(key, secret);
  }

  @Get()
  @Roles('frontend-admin', 'factory-admin', 'auditor')
  async list() {
    return (await this.keys.list()).map(apiKeyResponse);
  }

  /** Revoke a key by id or name (or by the key itself, e.g. a leaked one); it stops working at once on this replica. */
  @Post(':key/revoke')
  @HttpCode(200)
  @Roles('frontend-admin', 'factory-admin')
  @Audit('apikey.revoke')
  async revoke(@Auth() who: Principal, @Param('key', ApiKeyRefPipe) idOrName: string) {
    return apiKeyResponse(await this.keys.revoke(who, idOrName, actorName(who)));
  }
}
