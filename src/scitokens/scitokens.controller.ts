import { Body, Controller, Delete, Get, HttpCode, Param, Put, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Audit, Roles } from '../auth/access.decorator.js';
import { IssuerIdPipe, PlainNamePipe } from '../common/params.js';
import { PutIssuerDto } from './dto/put-issuer.dto.js';
import { PutSciTokenDto } from './dto/put-scitoken.dto.js';
import { issuerResponse } from './issuer.response.js';
import { IssuersService } from './issuers.service.js';
import { SciTokensService } from './scitokens.service.js';

@ApiTags('scitokens')
@ApiBearerAuth()
@Controller()
export class SciTokensController {
  constructor(
    private readonly scitokens: SciTokensService,
    private readonly issuers: IssuersService,
  ) {}

  /** Store (or replace) a VO SciToken; it is checked on the way in. 201 when new, 200 when replaced. */
  @Put('scitokens/:name')
  @Roles('frontend-admin')
  @Audit('scitoken.store')
  async put(@Param('name', PlainNamePipe('name')) name: string, @Body() dto: PutSciTokenDto, @Res({ passthrough: true }) res: FastifyReply) {
    const { created, view } = await this.scitokens.put(name, dto);
    void res.status(created ? 201 : 200);
    return view;
  }

  /** Every SciToken's metadata and state (missing, valid, expiring, expired, revoked, invalid); never a token. */
  @Get('scitokens')
  @Roles('frontend-admin', 'auditor')
  list() {
    return this.scitokens.list();
  }

  @Get('scitokens/:name')
  @Roles('frontend-admin', 'auditor')
  get(@Param('name', PlainNamePipe('name')) name: string) {
    return this.scitokens.get(name);
  }

  /** Revoke and forget: the token is wiped at once. */
  @Delete('scitokens/:name')
  @HttpCode(204)
  @Roles('frontend-admin')
  @Audit('scitoken.revoke')
  async remove(@Param('name', PlainNamePipe('name')) name: string): Promise<void> {
    await this.scitokens.revoke(name);
  }

  /** Trust an issuer: its `iss` and public keys (JWKS). */
  @Put('scitoken-issuers/:id')
  @Roles('frontend-admin')
  @Audit('scitoken-issuer.put')
  async putIssuer(@Param('id', IssuerIdPipe) id: string, @Body() dto: PutIssuerDto, @Res({ passthrough: true }) res: FastifyReply) {
    const { created, row } = await this.issuers.put(id, dto.issuer, dto.jwks);
    void res.status(created ? 201 : 200);
    return issuerResponse(row);
  }

  /** Stop trusting an issuer: its stored SciTokens read `invalid` and are not forwarded any more. */
  @Delete('scitoken-issuers/:id')
  @HttpCode(204)
  @Roles('frontend-admin')
  @Audit('scitoken-issuer.delete')
  async removeIssuer(@Param('id', PlainNamePipe('id')) id: string): Promise<void> {
    await this.issuers.remove(id);
  }

  /** Extension: the trusted issuers and their key ids. */
  @Get('scitoken-issuers')
  @Roles('frontend-admin', 'auditor')
  async listIssuers() {
    return (await this.issuers.list()).map(issuerResponse);
  }
}
