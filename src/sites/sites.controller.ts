import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Audit, Roles } from '../auth/access.decorator.js';
import { CreateSiteDto } from './dto/create-site.dto.js';
import { KeyFileQueryDto } from './dto/key-file.query.dto.js';
import { UpdateSiteDto } from './dto/update-site.dto.js';
import { SiteLookupPipe, SiteNamePipe } from './site-name.js';
import { SitesService } from './sites.service.js';

@ApiTags('sites')
@ApiBearerAuth()
@Controller('sites')
export class SitesController {
  constructor(private readonly sites: SitesService) {}

  /** Create a Glidein_Site and its signing key (generated, or imported). The key is never returned. */
  @Post()
  @ApiCreatedResponse({
    description: 'The site, as GET /sites/{site} shows it, plus `warnings: [{code, message}]` (empty, or `KEY_SHORT` for an imported key under 16 bytes).',
  })
  @Roles('frontend-admin')
  @Audit('site.create')
  create(@Body() dto: CreateSiteDto) {
    return this.sites.create(dto);
  }

  @Get()
  @Roles('frontend-admin', 'auditor')
  list() {
    return this.sites.list();
  }

  @Get(':site')
  @Roles('frontend-admin', 'auditor')
  get(@Param('site', SiteLookupPipe) site: string) {
    return this.sites.get(site);
  }

  @Patch(':site')
  @Roles('frontend-admin')
  @Audit('site.update')
  update(@Param('site', SiteNamePipe) site: string, @Body() dto: UpdateSiteDto) {
    return this.sites.update(site, dto);
  }

  /** Delete the site and every key version: its tokens stop verifying. */
  @Delete(':site')
  @HttpCode(204)
  @Roles('frontend-admin')
  @Audit('site.delete')
  async remove(@Param('site', SiteLookupPipe) site: string): Promise<void> {
    await this.sites.remove(site);
  }

  /** The HTCondor passwords.d file for the active key (scrambled bytes), to place as passwords.d/<kid>. */
  @Get(':site/keyfile')
  @Roles('frontend-admin')
  @Audit('site.keyfile.export')
  @ApiProduces('application/octet-stream')
  async keyFile(@Param('site', SiteLookupPipe) site: string, @Query() q: KeyFileQueryDto): Promise<StreamableFile> {
    const { kid, bytes } = await this.sites.keyFile(site, q.version);
    return new StreamableFile(bytes, { type: 'application/octet-stream', disposition: `attachment; filename="${kid}"`, length: bytes.length });
  }
}
