import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Audit, Roles } from '../auth/access.decorator.js';
import { Hex16Pipe, PlainNamePipe } from '../common/params.js';
import { Paced } from '../common/read-pacer.js';
import { ListRenewalsQueryDto } from './dto/renewals.dto.js';
import { RenewalAdminService } from './renewal-admin.service.js';

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
  revokeOne(@Param('id', Hex16Pipe('id')) id: string) {
    return this.renewals.revoke({ by: 'glidein', id });
  }

  /** The glideins bootstrapped from one ticket batch renew no more. */
  @Post('batches/:batch/renewals/revoke')
  @HttpCode(200)
  @Roles('factory-admin')
  @Audit('renewal.revoke')
  revokeBatch(@Param('batch', Hex16Pipe('batch')) batch: string) {
    return this.renewals.revoke({ by: 'batch', batch });
  }

  /** No glidein of the entry renews any more. */
  @Post('entries/:entry/renewals/revoke')
  @HttpCode(200)
  @Roles('factory-admin')
  @Audit('renewal.revoke')
  revokeEntry(@Param('entry', PlainNamePipe('entry')) entry: string) {
    return this.renewals.revoke({ by: 'entry', entry });
  }
}
