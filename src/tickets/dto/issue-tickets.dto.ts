import { IsIn, IsInt, IsOptional, Matches, Min } from 'class-validator';

export class IssueTicketsDto {
  /** A registered frontend (POST /factory/frontends): the glidein gets the credentials it sent for the entry. */
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, { message: 'frontend must be a registered frontend name' }) frontend!: string;

  /** How many tickets, one per glidein; at most tickets.maxCount. */
  @IsInt() @Min(1) count!: number;

  /** Ticket life (a glidein may wait in a batch queue for days); default tickets.defaultTtlSeconds, at most tickets.maxTtlSeconds. */
  @IsOptional() @IsInt() @Min(1) ttlSeconds?: number;
}

export class IssueTicketsQueryDto {
  /** `condor`: text/plain, an HTCondor submit-description fragment instead of JSON. */
  @IsOptional() @IsIn(['json', 'condor']) format?: 'json' | 'condor';
}
