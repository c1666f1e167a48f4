import { Controller, Get, HttpCode, Param, PipeTransform, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Audit, Roles } from '../auth/access.decorator.js';
import { DomainError } from '../common/errors.js';
import { PlainNamePipe } from '../common/names.js';
import { Paced } from '../common/read-pacer.js';
import { HEX16, ListRenewalsQueryDto } from './dto/renewals.dto.js';
import { RenewalAdminService } from './renewal-admin.service.js';

/** A 16-hex-digit path parameter (a renewal id, a ticket batch): 400 naming it otherwise. */
class Hex16Pipe implements PipeTransform<string, string> {
  constructor(private readonly field: string) {}
  transform(value: string): string {
    if (!HEX16.test(value)) throw new DomainError('VALIDATION_FAILED', `${this.field} must be 16 hex digits`, this.field);
    return value;
  }
}

@ApiTags('factory')
@ApiBearerAuth()
@Controller('factory')
export class RenewalsController {
  constructor(private readonly renewals: RenewalAdminService) {}

  /** Bootstrapped glideins' renewals, newest first: ids, ticket, batch, entry, renewals, pilot-life end, revocation; never a secret. */
  @Get('renewals')
  @Paced('lists')
  @Roles('factory-admin', 'auditor')
  list(@Query() q: ListRenewalsQueryDto) {
    return this.renewals.list(q);
  }

  /** One glidein renews no more. */
  @Post('renewals/:id/revoke')
  @HttpCode(200)
  @Roles('factory-admin')
  @Audit('renewal.revoke')
  revokeOne(@Param('id', new Hex16Pipe('id')) id: string) {
    return this.renewals.revoke({ by: 'glidein', id });
  }

  /** The glideins bootstrapped from one ticket batch renew no more. */
  @Post('batches/:batch/renewals/revoke')
  @HttpCode(200)
  @Roles('factory-admin')
  @Audit('renewal.revoke')
  revokeBatch(@Param('batch', new Hex16Pipe('batch')) batch: string) {
    return this.renewals.revoke({ by: 'batch', batch });
  }

  /** No glidein of the entry renews any more. */
  @Post('entries/:entry/renewals/revoke')
  @HttpCode(200)
  @Roles('factory-admin')
  @Audit('renewal.revoke')
  revokeEntry(@Param('entry', new PlainNamePipe('entry')) entry: string) {
    return this.renewals.revoke({ by: 'entry', entry });
  }
}
