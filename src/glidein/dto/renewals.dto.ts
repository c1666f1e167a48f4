import { Type } from 'class-transformer';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { HEX16, PLAIN_NAME } from '../../common/names.js';

export class ListRenewalsQueryDto {
  @IsOptional() @Matches(PLAIN_NAME) entry?: string;
  @IsOptional() @Matches(HEX16, { message: 'batch must be 16 hex digits' }) batch?: string;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000) limit?: number;
}
