import { Module } from '@nestjs/common';
import { RotationModule } from '../rotation/rotation.module.js';
import { TokensModule } from '../tokens/tokens.module.js';
import { SciTokensModule } from '../scitokens/scitokens.module.js';
import { SchedulerCron } from './scheduler.cron.js';
import { SchedulerService } from './scheduler.service.js';

@Module({
  imports: [RotationModule, TokensModule, SciTokensModule],
  providers: [SchedulerService, SchedulerCron],
  exports: [SchedulerService],
})
export class SchedulerModule {}
