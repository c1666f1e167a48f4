import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

export class AuditQueryDto {
  /** An action, e.g. `site.create`, or a prefix ending in `.` (e.g. `token.`). */
  @IsOptional() @IsString() @MaxLength(64) @Matches(/^[a-z0-9.-]+$/) action?: string;
  @IsOptional() @IsString() @MaxLength(128) actor?: string;
  @IsOptional() @IsString() @MaxLength(255) target?: string;
  @IsOptional() @IsIn(['success', 'failure', 'denied']) result?: 'success' | 'failure' | 'denied';
  /** ISO-8601 lower bound (inclusive). */
  @IsOptional() @IsISO8601({ strict: true }) since?: string;
  /** ISO-8601 upper bound (exclusive). */
  @IsOptional() @IsISO8601({ strict: true }) until?: string;
  /** Return entries older than this id (the `next` of the previous page). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) before?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000) limit?: number;
}
