import { IsInt, IsOptional, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';

export class RevokeSubjectDto {
  /**
   * The `sub` claim to revoke, exactly as in the tokens: any characters a token's JSON string can
   * carry to HTCondor, control characters included. A NUL is refused at the edge like in every
   * field (VALIDATION_FAILED); an unpaired surrogate gets SUBJECT_NOT_REPRESENTABLE.
   */
  @IsString({ context: { code: 'INVALID_SUBJECT' } })
  @MinLength(1, { context: { code: 'INVALID_SUBJECT' } })
  @MaxLength(255, { context: { code: 'INVALID_SUBJECT' } })
  subject!: string;

  /** Unix seconds; tokens issued at or before it are revoked. Default: now. */
  @IsOptional() @IsInt() @Min(0) @Max(4_102_444_800) issuedBefore?: number;

  /**
   * Unix seconds after which the rule may drop out of the revocation expression (when every token it
   * covers has expired). Default: never, since tokens minted elsewhere may outlive any ceiling of ours.
   */
  @IsOptional() @IsInt() @Min(0) @Max(4_102_444_800) keepUntil?: number;
}
