import { IsOptional, Matches } from 'class-validator';
import { PLAIN_NAME } from '../../common/names.js';

export class ListCacheQueryDto {
  @IsOptional() @Matches(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/) frontend?: string;
  @IsOptional() @Matches(PLAIN_NAME) entry?: string;
}
