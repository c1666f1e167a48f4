import { Module } from '@nestjs/common';
import { SitesModule } from '../sites/sites.module.js';
import { TokensModule } from '../tokens/tokens.module.js';
import { ForwardingModule } from '../forwarding/forwarding.module.js';
import { PasswordsDirService } from '../passwords-dir/passwords-dir.service.js';
import { RenewalService } from '../current-token/renewal.service.js';
import { RotationController } from './rotation.controller.js';
import { RotationMetrics } from './rotation.metrics.js';
import { RotationService } from './rotation.service.js';

@Module({
  imports: [SitesModule, TokensModule, ForwardingModule],
  controllers: [RotationController],
  providers: [RotationService, RenewalService, PasswordsDirService, RotationMetrics],
  exports: [RotationService, RenewalService, PasswordsDirService],
})
export class RotationModule {}
