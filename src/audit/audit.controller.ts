import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/access.decorator.js';
import { Db } from '../database/db.js';
import { AuditEntry } from './audit-entry.entity.js';
import { auditEntryResponse } from './audit-entry.response.js';
import { AuditQueryDto } from './audit.query.dto.js';
import { Paced } from '../common/read-pacer.js';

@ApiTags('audit')
@ApiBearerAuth()
@Controller('audit')
export class AuditController {
  constructor(private readonly db: Db) {}

  /** The audit log, newest first, filtered. */
  @Get()
  @Paced('lists')
  @Roles('frontend-admin', 'factory-admin', 'auditor')
  list(@Query() q: AuditQueryDto) {
    const limit = q.limit ?? 100;
    return this.db.read(async (m) => {
      const qb = m
        .createQueryBuilder(AuditEntry, 'a')
        .orderBy('a.id', 'DESC')
        .take(limit + 1);
      if (q.action?.endsWith('.')) qb.andWhere('a.action LIKE :p', { p: `${q.action}%` });
      else if (q.action) qb.andWhere('a.action = :action', { action: q.action });
      if (q.actor) qb.andWhere('a.actor = :actor', { actor: q.actor });
      if (q.target) qb.andWhere('a.target = :target', { target: q.target });
      if (q.result) qb.andWhere('a.result = :result', { result: q.result });
      if (q.since) qb.andWhere('a.at >= :since', { since: Date.parse(q.since) });
      if (q.until) qb.andWhere('a.at < :until', { until: Date.parse(q.until) });
      if (q.before) qb.andWhere('a.id < :before', { before: q.before });
      const rows = await qb.getMany();
      const page = rows.slice(0, limit);
      return { entries: page.map(auditEntryResponse), next: rows.length > limit ? page[page.length - 1].id : null };
    });
  }
}
