import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { PLAIN_NAME } from '../../common/names.js';
import { DELIVERY_KINDS, DELIVERY_STATES } from '../delivery.entity.js';

export class ListDeliveriesQueryDto {
  @IsOptional() @Matches(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/) factory?: string;
  @IsOptional() @Matches(PLAIN_NAME) entry?: string;
  @IsOptional() @IsIn(DELIVERY_STATES) state?: (typeof DELIVERY_STATES)[number];
  @IsOptional() @IsIn(DELIVERY_KINDS) kind?: (typeof DELIVERY_KINDS)[number];
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000) limit?: number;
}
