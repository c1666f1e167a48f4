import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { SITE_NAME } from '../../sites/site-name.js';

export const LEDGER_STATES = ['active', 'expired', 'revoked', 'retired'] as const;
export type LedgerState = (typeof LEDGER_STATES)[number];

export class ListTokensQueryDto {
  @IsOptional() @Matches(SITE_NAME, { context: { code: 'INVALID_SITE_NAME' } }) site?: string;
  /** active: verifies now; expired; revoked; retired: its key version was retired or deleted. */
  @IsOptional() @IsIn(LEDGER_STATES) state?: LedgerState;
  /** The `next` cursor of the previous page. */
  @IsOptional() @Matches(/^\d{1,16}:[0-9a-f]{32}$/) cursor?: string;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000) limit?: number;
}
