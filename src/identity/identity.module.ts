import { DynamicModule, Module } from '@nestjs/common';
import { ServiceRole } from '../config/config.schema.js';
import { FactoryIdentityController, FrontendIdentityController } from './identity.controller.js';
import { IdentityService } from './identity.service.js';

/** Identities of the enabled roles, and the public routes that show them. Global: forwarding seals with them, the factory opens with them. */
@Module({})
export class IdentityModule {
  static forRoles(roles: ServiceRole[]): DynamicModule {
    return {
      module: IdentityModule,
      global: true,
      controllers: [...(roles.includes('frontend') ? [FrontendIdentityController] : []), ...(roles.includes('factory') ? [FactoryIdentityController] : [])],
      providers: [IdentityService],
      exports: [IdentityService],
    };
  }
}
