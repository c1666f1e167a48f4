import { Module } from '@nestjs/common';
import { RetentionMetrics } from './retention.metrics.js';

/** Retention: the table-size gauges (the prune itself is a host verb, `glidekey prune`). */
@Module({ providers: [RetentionMetrics] })
export class RetentionModule {}
