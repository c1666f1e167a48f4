import { Module } from '@nestjs/common';
import { CollectorModule } from '../collector/collector.module.js';
import { SitesModule } from '../sites/sites.module.js';
import { LedgerWriter } from './ledger-writer.js';
import { RevocationFileService } from './revocation-file.service.js';
import { RevocationMetrics } from './revocation.metrics.js';
import { TokenVerifierService } from './token-verifier.service.js';
import { TokensController } from './tokens.controller.js';
import { TokensService } from './tokens.service.js';

@Module({
  imports: [SitesModule, CollectorModule],
  controllers: [TokensController],
  providers: [TokensService, TokenVerifierService, LedgerWriter, RevocationFileService, RevocationMetrics],
  exports: [TokensService, TokenVerifierService, RevocationFileService],
})
export class TokensModule {}
