import { IsInt, IsOptional, Max, Min } from 'class-validator';

export class RotateSiteDto {
  /** 0 = immediate: every earlier token fails at once. Default: the site's policy. */
  @IsOptional()
  @IsInt({ context: { code: 'INVALID_ROTATION_POLICY' } })
  @Min(0, { context: { code: 'INVALID_ROTATION_POLICY' } })
  @Max(31_536_000, { context: { code: 'INVALID_ROTATION_POLICY' } })
  graceSeconds?: number;
}
