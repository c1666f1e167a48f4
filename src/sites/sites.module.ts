import { Module } from '@nestjs/common';
import { KeyChanges } from './key-changes.js';
import { SiteKeysService } from './site-keys.service.js';
import { SitesController } from './sites.controller.js';
import { SitesService } from './sites.service.js';

@Module({
  controllers: [SitesController],
  providers: [SitesService, SiteKeysService, KeyChanges],
  exports: [SitesService, SiteKeysService, KeyChanges],
})
export class SitesModule {}
