import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Audit, Roles } from '../auth/access.decorator.js';
import { PlainNamePipe } from '../common/params.js';
import { PutEntryDto } from './dto/put-entry.dto.js';
import { ImportEntriesDto } from './dto/import-entries.dto.js';
import { EntriesImportService } from './entries-import.service.js';
import { EntriesService } from './entries.service.js';
import { entryResponse } from './entry.response.js';

@ApiTags('factory')
@ApiBearerAuth()
@Controller('factory/entries')
export class EntriesController {
  constructor(
    private readonly entries: EntriesService,
    private readonly importer: EntriesImportService,
  ) {}

  /** Create or update entries from a glideinWMS.xml (and its config.d fragments); `dryRun` changes nothing. Per entry: created, updated, unchanged, skipped (reason), deleted (prune). */
  @Post('import')
  @HttpCode(200)
  @Roles('factory-admin')
  @Audit('factory.entries.import')
  import(@Body() dto: ImportEntriesDto) {
    return this.importer.import(dto);
  }

  /**
   * Create or replace an entry. 201 when new, 200 when replaced. Audited as factory.entry.create or
   * .update, failures too (one refused before the entry is looked up, as create).
   */
  @Put(':entry')
  @Roles('factory-admin')
  @Audit('factory.entry.create')
  async put(@Param('entry', PlainNamePipe('entry')) name: string, @Body() dto: PutEntryDto, @Res({ passthrough: true }) res: FastifyReply) {
    const { created, entry } = await this.entries.put(name, dto);
    void res.status(created ? 201 : 200);
    return entryResponse(entry);
  }

  /** The entries, for factory admins and for registered frontends deciding what to send. */
  @Get()
  @Roles('factory-admin', 'frontend')
  async list() {
    return (await this.entries.list()).map(entryResponse);
  }

  @Delete(':entry')
  @HttpCode(204)
  @Roles('factory-admin')
  @Audit('factory.entry.delete')
  async remove(@Param('entry', PlainNamePipe('entry')) name: string): Promise<void> {
    await this.entries.remove(name);
  }
}
