import { Module } from '@nestjs/common';
import { FactoriesController } from './factories.controller.js';
import { FactoriesService } from './factories.service.js';

/** The frontend's forwarding to factories (the outbox and deliverer follow). */
@Module({
  controllers: [FactoriesController],
  providers: [FactoriesService],
  exports: [FactoriesService],
})
export class ForwardingModule {}
