import { Body, Controller, Get, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Audit, Roles } from '../auth/access.decorator.js';
import { RegisterFactoryDto } from './dto/register-factory.dto.js';
import { factoryResponse, FactoriesService } from './factories.service.js';

@ApiTags('forwarding')
@ApiBearerAuth()
@Controller('factories')
export class FactoriesController {
  constructor(private readonly factories: FactoriesService) {}

  /** Register a factory to forward to: its URL, the API key it gave us (kept sealed), its public key (pinned). */
  @Post()
  @Roles('frontend-admin')
  @Audit('factory.register')
  register(@Body() dto: RegisterFactoryDto) {
    return this.factories.register(dto);
  }

  @Get()
  @Roles('frontend-admin', 'auditor')
  async list() {
    return (await this.factories.list()).map(factoryResponse);
  }
}
