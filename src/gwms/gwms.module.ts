import { Module } from '@nestjs/common';
import { RotationModule } from '../rotation/rotation.module.js';
import { SciTokensModule } from '../scitokens/scitokens.module.js';
import { FrontendSciTokensDir } from './frontend-scitokens-dir.service.js';
import { FrontendTokensDir } from './frontend-tokens-dir.service.js';
import { GwmsMetrics } from './gwms.metrics.js';

/** The files glidekey keeps for an unmodified GlideinWMS frontend: its tokens.d IDTOKENs and SciToken files. */
@Module({
  imports: [RotationModule, SciTokensModule],
  providers: [FrontendTokensDir, FrontendSciTokensDir, GwmsMetrics],
  exports: [FrontendTokensDir, FrontendSciTokensDir],
})
export class GwmsModule {}
