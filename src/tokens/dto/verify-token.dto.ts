import { IsString, MaxLength } from 'class-validator';

export class VerifyTokenDto {
  @IsString() @MaxLength(16_384) token!: string;
}
