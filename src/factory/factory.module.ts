import { CacheFilesSync } from './cache-files-sync.service.js';
import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { EntriesController } from './entries.controller.js';
import { EntriesImportService } from './entries-import.service.js';
import { EntriesService } from './entries.service.js';
import { CacheService } from './cache.service.js';
import { CacheFiles } from './cache-files.js';
import { FactoryMetrics } from './factory.metrics.js';
import { CredentialIntakeService } from './credential-intake.service.js';
import { CredentialsController } from './credentials.controller.js';
import { FrontendsController } from './frontends.controller.js';
import { FrontendsService } from './frontends.service.js';
import { WithdrawalIntake } from './withdrawal-intake.js';
import { FrontendKeyFollow } from './key-follow.js';
import { FrontendForgetters } from './frontend-forgetters.js';

/** The factory role: the frontends it accepts credentials from, its entries, and the credential cache. */
@Module({
  imports: [AuthModule],
  controllers: [FrontendsController, EntriesController, CredentialsController],
  providers: [
    FrontendsService,
    EntriesService,
    EntriesImportService,
    CacheService,
    CacheFiles,
    CacheFilesSync,
    FactoryMetrics,
    CredentialIntakeService,
    WithdrawalIntake,
    FrontendKeyFollow,
    FrontendForgetters,
  ],
  exports: [FrontendsService, EntriesService, CacheService, FrontendForgetters],
})
export class FactoryModule {}
