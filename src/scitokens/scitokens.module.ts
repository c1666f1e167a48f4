import { Module } from '@nestjs/common';
import { ForwardingModule } from '../forwarding/forwarding.module.js';
import { GwmsCredentialsController } from './gwms-credentials.controller.js';
import { IssuersService } from './issuers.service.js';
import { SciTokenHandoutService } from './scitoken-handout.service.js';
import { SciTokenWatch } from './scitoken-watch.service.js';
import { SciTokenSourceProvider } from './scitoken-source.js';
import { SciTokensController } from './scitokens.controller.js';
import { SciTokensMetrics } from './scitokens.metrics.js';
import { SciTokensService } from './scitokens.service.js';

@Module({
  imports: [ForwardingModule],
  controllers: [SciTokensController, GwmsCredentialsController],
  providers: [SciTokensService, IssuersService, SciTokenWatch, SciTokenHandoutService, SciTokensMetrics, SciTokenSourceProvider],
  exports: [SciTokensService, IssuersService, SciTokenWatch],
})
export class SciTokensModule {}
