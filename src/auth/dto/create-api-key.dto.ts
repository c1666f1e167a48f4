import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, Matches } from 'class-validator';
import { API_ROLES, type ApiRole } from '../principal.js';

export class CreateApiKeyDto {
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/) name!: string;

  @IsArray({ context: { code: 'INVALID_ROLE' } })
  @ArrayMinSize(1, { context: { code: 'INVALID_ROLE' } })
  @ArrayMaxSize(API_ROLES.length, { context: { code: 'INVALID_ROLE' } })
  @IsIn(API_ROLES, { each: true, context: { code: 'INVALID_ROLE' } })
  roles!: ApiRole[];
}
