import { Module } from '@nestjs/common';
import { ForwardingModule } from '../forwarding/forwarding.module.js';
import { SiteKeysService } from './site-keys.service.js';
import { SitesController } from './sites.controller.js';
import { SitesService } from './sites.service.js';

@Module({
  imports: [ForwardingModule],
  controllers: [SitesController],
  providers: [SitesService, SiteKeysService],
  exports: [SitesService, SiteKeysService],
})
export class SitesModule {}
