import { Module } from '@nestjs/common';
import { RotationModule } from '../rotation/rotation.module.js';
import { TokensModule } from '../tokens/tokens.module.js';
import { SciTokensModule } from '../scitokens/scitokens.module.js';
import { GwmsModule } from '../gwms/gwms.module.js';
import { SchedulerCron } from './scheduler.cron.js';
import { SchedulerService } from './scheduler.service.js';

@Module({
  imports: [RotationModule, TokensModule, SciTokensModule, GwmsModule],
  providers: [SchedulerService, SchedulerCron],
  exports: [SchedulerService],
})
export class SchedulerModule {}
