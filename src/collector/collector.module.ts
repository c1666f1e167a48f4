import { Module } from '@nestjs/common';
import { CollectorMetrics } from './collector.metrics.js';
import { CollectorReloadService } from './collector-reload.service.js';
import { CommandRunner } from './command-runner.js';

/** Telling the collector that the files it reads changed (frontend.reloadCommand). */
@Module({
  providers: [CollectorReloadService, CollectorMetrics, CommandRunner],
  exports: [CollectorReloadService],
})
export class CollectorModule {}
