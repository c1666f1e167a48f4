import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Audit, Roles } from '../auth/access.decorator.js';
import { IdentityTransitionService } from './identity-transition.service.js';

@ApiTags('forwarding')
@ApiBearerAuth()
@Controller('frontend/identity')
export class IdentityRotationController {
  constructor(private readonly transition: IdentityTransitionService) {}

  /** A new X25519 identity now; the previous one is kept to prove the new one to each factory until it has followed. */
  @Post('rotate')
  @HttpCode(200)
  @Roles('frontend-admin')
  @Audit('frontend.identity.rotate')
  rotate() {
    return this.transition.rotate();
  }
}
