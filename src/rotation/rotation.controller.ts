import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Audit, Roles } from '../auth/access.decorator.js';
import { SiteNamePipe } from '../sites/site-name.js';
import { RotateSiteDto } from './dto/rotate-site.dto.js';
import { RotationService } from './rotation.service.js';

@ApiTags('sites')
@ApiBearerAuth()
@Controller('sites')
export class RotationController {
  constructor(private readonly rotation: RotationService) {}

  /** A new key version now. `graceSeconds` 0 retires every earlier version at once. */
  @Post(':site/rotate')
  @HttpCode(200)
  @Roles('frontend-admin')
  @Audit('site.rotate')
  rotate(@Param('site', SiteNamePipe) site: string, @Body() dto: RotateSiteDto) {
    return this.rotation.rotate(site, { graceSeconds: dto.graceSeconds });
  }
}
