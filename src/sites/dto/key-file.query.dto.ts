import { Type } from 'class-transformer';
import { IsInt, IsOptional, Min } from 'class-validator';

export class KeyFileQueryDto {
  /** A usable (active or in-grace) key version; default the active one. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) version?: number;
}
