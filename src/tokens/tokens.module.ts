import { Module } from '@nestjs/common';
import { SitesModule } from '../sites/sites.module.js';
import { LedgerWriter } from './ledger-writer.js';
import { RevocationFileService } from './revocation-file.service.js';
import { TokenVerifierService } from './token-verifier.service.js';
import { TokensController } from './tokens.controller.js';
import { TokensMetrics } from './tokens.metrics.js';
import { TokensService } from './tokens.service.js';

@Module({
  imports: [SitesModule],
  controllers: [TokensController],
  providers: [TokensService, TokenVerifierService, LedgerWriter, RevocationFileService, TokensMetrics],
  exports: [TokensService, TokenVerifierService, RevocationFileService],
})
export class TokensModule {}
