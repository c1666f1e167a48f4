import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/access.decorator.js';
import { Db } from '../database/db.js';
import { metaStore } from '../database/meta.store.js';
import { Sealer } from '../crypto/sealer.js';
import { MASTER_KEY_CHECK, MASTER_KEY_CHECK_AD } from '../crypto/master-key.init.js';

@ApiTags('operations')
@Controller()
export class HealthController {
  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
  ) {}

  /** Liveness: the process serves HTTP. */
  @Get('healthz')
  @Public()
  @HttpCode(200)
  healthz() {
    return { status: 'ok' };
  }

  /**
   * Readiness: the database answers, every migration is applied, the master key opens its check
   * value, and writes work (not ready from a write's storage failure until a write commits again).
   */
  @Get('readyz')
  @Public()
  async readyz(@Res({ passthrough: true }) res: FastifyReply) {
    const checks: Record<string, 'ok' | 'failed'> = { database: 'failed', migrations: 'failed', keys: 'failed', writes: 'failed' };
    try {
      await this.db.read((m) => m.query('SELECT 1'));
      checks.database = 'ok';
      checks.migrations = (await this.db.read(() => this.db.dataSource.showMigrations())) ? 'failed' : 'ok';
      const check = await this.db.read((m) => metaStore.get(m, MASTER_KEY_CHECK));
      if (check) {
        this.sealer.open(check.value, MASTER_KEY_CHECK_AD);
        checks.keys = 'ok';
      }
      if ((await this.db.writable()).ok) checks.writes = 'ok';
    } catch {
      // reported through the checks below; the reason stays in the server's log, not the response
    }
    const ready = Object.values(checks).every((c) => c === 'ok');
    void res.status(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not ready', checks };
  }
}
