import { Module } from '@nestjs/common';
import { SiteHooks } from './site-hooks.js';
import { SiteKeysService } from './site-keys.service.js';
import { SitesController } from './sites.controller.js';
import { SitesService } from './sites.service.js';

@Module({
  controllers: [SitesController],
  providers: [SitesService, SiteKeysService, SiteHooks],
  exports: [SitesService, SiteKeysService, SiteHooks],
})
export class SitesModule {}
