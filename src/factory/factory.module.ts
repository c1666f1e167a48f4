import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { EntriesController } from './entries.controller.js';
import { EntriesService } from './entries.service.js';
import { CacheService } from './cache.service.js';
import { FrontendsController } from './frontends.controller.js';
import { FrontendsService } from './frontends.service.js';

/** The factory role: the frontends it accepts credentials from (entries, cache and tickets follow). */
@Module({
  imports: [AuthModule],
  controllers: [FrontendsController, EntriesController],
  providers: [FrontendsService, EntriesService, CacheService],
  exports: [FrontendsService, EntriesService, CacheService],
})
export class FactoryModule {}
