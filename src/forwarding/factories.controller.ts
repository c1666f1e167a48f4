import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Audit, Roles } from '../auth/access.decorator.js';
import { DomainError } from '../common/errors.js';
import { FactoryNamePipe } from '../common/params.js';
import { DeliveriesService } from './deliveries.service.js';
import { DelivererService } from './deliverer.service.js';
import { ListDeliveriesQueryDto } from './dto/list-deliveries.query.dto.js';
import { RegisterFactoryDto } from './dto/register-factory.dto.js';
import { UpdateFactoryDto } from './dto/update-factory.dto.js';
import { EntriesSyncService } from './entries-sync.service.js';
import { FactoriesService } from './factories.service.js';
import { Paced } from '../common/read-pacer.js';

@ApiTags('forwarding')
@ApiBearerAuth()
@Controller()
export class FactoriesController {
  constructor(
    private readonly factories: FactoriesService,
    private readonly sync: EntriesSyncService,
    private readonly deliverer: DelivererService,
    private readonly deliveries: DeliveriesService,
  ) {}

  /** Register a factory to forward to: its URL, the API key it gave us (kept sealed), its public key (pinned). */
  @Post('factories')
  @Roles('frontend-admin')
  @Audit('factory.register')
  register(@Body() dto: RegisterFactoryDto) {
    return this.factories.register(dto);
  }

  /** The factories, each with its entries as last seen and, per entry, what it gets or why not. */
  @Get('factories')
  @Paced('lists')
  @Roles('frontend-admin', 'auditor')
  list() {
    return this.factories.list();
  }

  /** Change a factory's URL, API key (kept sealed, never shown) or pinned public key; pending deliveries go at once with the new ones. */
  @Patch('factories/:name')
  @Roles('frontend-admin')
  @Audit('factory.update')
  update(@Param('name', FactoryNamePipe) name: string, @Body() dto: UpdateFactoryDto) {
    return this.factories.update(name, dto);
  }

  /** Forget a factory, its outbox and its last-seen entries: nothing is sent to it afterwards. */
  @Delete('factories/:name')
  @HttpCode(204)
  @Roles('frontend-admin')
  @Audit('factory.delete')
  async remove(@Param('name', FactoryNamePipe) name: string): Promise<void> {
    await this.factories.remove(name);
  }

  /** Forward now: read the factory's entries, queue what they lack, and send what is due. */
  @Post('factories/:name/sync')
  @HttpCode(200)
  @Roles('frontend-admin')
  @Audit('factory.sync')
  async syncNow(@Param('name', FactoryNamePipe) name: string) {
    const synced = await this.sync.sync(name);
    // Recorded as the factory's syncError; the caller learns it from a 502, not a 200 or a 500.
    if (synced.contractError)
      throw new DomainError('FACTORY_BAD_RESPONSE', `factory ${name} answered in a form glidekey cannot use (${synced.error}); its last-seen entries stay`);
    const drained = await this.deliverer.drain(name);
    return { ...synced, delivery: drained };
  }

  /** The outbox, newest first: per factory, entry and credential, its state and attempts; never the credential. */
  @Get('deliveries')
  @Paced('lists')
  @Roles('frontend-admin', 'auditor')
  listDeliveries(@Query() q: ListDeliveriesQueryDto) {
    return this.deliveries.list(q);
  }
}
