import { Module } from '@nestjs/common';
import { IssuersService } from './issuers.service.js';
import { SciTokenWatch } from './scitoken-watch.service.js';
import { SciTokensController } from './scitokens.controller.js';
import { SciTokensService } from './scitokens.service.js';

@Module({
  controllers: [SciTokensController],
  providers: [SciTokensService, IssuersService, SciTokenWatch],
  exports: [SciTokensService, IssuersService, SciTokenWatch],
})
export class SciTokensModule {}
