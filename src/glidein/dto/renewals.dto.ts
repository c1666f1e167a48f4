import { Type } from 'class-transformer';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { PLAIN_NAME } from '../../common/names.js';

/** Renewal ids and ticket batches are 16 hex digits. */
export const HEX16 = /^[0-9a-f]{16}$/;

export class ListRenewalsQueryDto {
  @IsOptional() @Matches(PLAIN_NAME) entry?: string;
  @IsOptional() @Matches(HEX16, { message: 'batch must be 16 hex digits' }) batch?: string;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000) limit?: number;
}
