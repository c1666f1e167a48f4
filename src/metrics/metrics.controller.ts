import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { PublicWhen, Roles } from '../auth/access.decorator.js';
import { MetricsService } from './metrics.service.js';
import { Paced } from '../common/read-pacer.js';

@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  /** Prometheus text format. Needs one of the roles unless metrics.public is true. */
  @Get()
  @Paced('metrics')
  @PublicWhen('metrics.public')
  @Roles('frontend-admin', 'factory-admin', 'auditor')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
