import { Body, Controller, Get, Header, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Audit, Roles } from '../auth/access.decorator.js';
import { JtiPipe } from '../common/params.js';
import { SiteNamePipe } from '../sites/site-name.js';
import { ListTokensQueryDto } from './dto/list-tokens.query.dto.js';
import { MintTokenDto } from './dto/mint-token.dto.js';
import { RevokeSubjectDto } from './dto/revoke-subject.dto.js';
import { VerifyTokenDto } from './dto/verify-token.dto.js';
import { TokenVerifierService } from './token-verifier.service.js';
import { TokensService } from './tokens.service.js';
import { Paced } from '../common/read-pacer.js';

@ApiTags('tokens')
@ApiBearerAuth()
@Controller()
export class TokensController {
  constructor(
    private readonly tokens: TokensService,
    private readonly verifier: TokenVerifierService,
  ) {}

  /** Mint an IDTOKEN. The response is the only time the token is returned. */
  @Post('sites/:site/tokens')
  @Roles('frontend-admin')
  @Audit('token.mint')
  mint(@Param('site', SiteNamePipe) site: string, @Body() dto: MintTokenDto) {
    return this.tokens.mint(site, dto);
  }

  /** The ledger of minted tokens (never the tokens themselves). */
  @Get('tokens')
  @Paced('lists')
  @Roles('frontend-admin', 'auditor')
  list(@Query() q: ListTokensQueryDto) {
    return this.tokens.list(q);
  }

  @Post('tokens/verify')
  @HttpCode(200)
  @Roles('frontend-admin', 'auditor')
  verify(@Body() dto: VerifyTokenDto) {
    return this.verifier.verify(dto.token);
  }

  @Post('tokens/:jti/revoke')
  @HttpCode(200)
  @Roles('frontend-admin')
  @Audit('token.revoke')
  revoke(@Param('jti', JtiPipe) jti: string) {
    return this.tokens.revoke(jti);
  }

  /** Extension: revoke every token of a subject issued at or before `issuedBefore` (default now), on every site. */
  @Post('revocations/subjects')
  @HttpCode(200)
  @Roles('frontend-admin')
  @Audit('token.revoke-subject')
  revokeSubject(@Body() dto: RevokeSubjectDto) {
    return this.tokens.revokeSubject(dto);
  }

  /** A SEC_TOKEN_REVOCATION_EXPR value covering every revoked, unexpired token. */
  @Get('revocations/condor')
  @Paced('lists')
  @Roles('frontend-admin', 'auditor')
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @ApiProduces('text/plain')
  async revocations(): Promise<string> {
    return (await this.tokens.revocationExpression()).expr + '\n';
  }
}
