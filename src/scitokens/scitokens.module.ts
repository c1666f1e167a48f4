import { Module } from '@nestjs/common';
import { ForwardingModule } from '../forwarding/forwarding.module.js';
import { IssuersService } from './issuers.service.js';
import { SciTokenWatch } from './scitoken-watch.service.js';
import { SciTokensController } from './scitokens.controller.js';
import { SciTokensService } from './scitokens.service.js';

@Module({
  imports: [ForwardingModule],
  controllers: [SciTokensController],
  providers: [SciTokensService, IssuersService, SciTokenWatch],
  exports: [SciTokensService, IssuersService, SciTokenWatch],
})
export class SciTokensModule {}
