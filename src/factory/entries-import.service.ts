import { Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/errors.js';
import { PLAIN_NAME } from '../common/names.js';
import { Settings } from '../config/settings.js';
import { Db } from '../database/db.js';
import { asConflict } from '../database/unique-violation.js';
import { CONDOR_VERSION } from '../protocol/matching.js';
import { ImportEntriesDto } from './dto/import-entries.dto.js';
import { PutEntryDto } from './dto/put-entry.dto.js';
import { EntriesService } from './entries.service.js';
import { entryResponse } from './entry.response.js';
import { FactoryEntry } from './entry.entity.js';
import { GlideinXml, parseGlideinXml, XmlEntry } from './glideinwms-xml.js';

/** The fields glideinWMS.xml decides; the others (securityClass, glideinScitoken, maxPilotLifeSeconds, glideinBootstrap) stay as the admin set them. */
const FROM_XML = ['site', 'gatekeeper', 'trustDomain', 'authMethod', 'condorVersion'] as const;
type XmlFields = Pick<FactoryEntry, (typeof FROM_XML)[number]>;

/** Most entries one import may hold (the OSG's largest factories have a few thousand). */
export const MAX_IMPORT_ENTRIES = 10_000;

export type ImportResult = 'created' | 'updated' | 'unchanged' | 'skipped' | 'deleted';

export interface ImportOutcome {
  name: string;
  result: ImportResult;
  /** Why an entry was skipped: DISABLED, ENTRY_SET, NO_SITE, INVALID_NAME, INVALID_FIELD. */
  reason?: string;
  message?: string;
  /** created/updated: each field that changes, `{from, to}` (`from` null for a new entry). */
  changes?: Record<string, { from: string | null; to: string | null }>;
  warnings?: { code: string; message: string }[];
}

interface Plan {
  outcomes: ImportOutcome[];
  writes: { name: string; fields: XmlFields; existing: FactoryEntry | null }[];
  deletes: string[];
}

/**
 * POST /factory/entries/import: entries from GlideinWMS's own glideinWMS.xml (and its config.d
 * fragments). Each enabled `<entry>` becomes, or updates in place, the glidekey entry of its name:
 * site = GLIDEIN_Site, gatekeeper, trust_domain, auth_method, CONDOR_VERSION. All in one
 * transaction; a dry run computes the same outcomes and writes nothing. Entries the XML does not
 * name are kept unless `prune` is set.
 */
@Injectable()
export class EntriesImportService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly settings: Settings,
    private readonly entries: EntriesService,
  ) {}

  async import(dto: ImportEntriesDto) {
    const docs = [dto.xml, ...(dto.configD ?? [])].map((xml, i) => {
      try {
        return parseGlideinXml(xml);
      } catch (err) {
        // Say which document: the main file or the n-th config.d fragment.
        if (err instanceof DomainError && i > 0) throw new DomainError(err.code, `configD[${i - 1}]: ${err.message}`, `configD.${i - 1}`);
        throw err;
      }
    });
    const listed = docs.flatMap((d) => d.entries);
    if (listed.length > MAX_IMPORT_ENTRIES)
      throw new DomainError('XML_TOO_MANY_ENTRIES', `the XML defines ${listed.length} entries; at most ${MAX_IMPORT_ENTRIES} per import`, 'xml');
    const seen = new Set<string>();
    for (const e of listed) {
      if (e.name && seen.has(e.name)) throw new DomainError('XML_DUPLICATE_ENTRY', `entry ${e.name} is defined twice`, 'xml');
      seen.add(e.name);
    }
    const warnings = this.documentWarnings(docs);
    const dryRun = dto.dryRun ?? false;
    const run = async (m: EntityManager) => {
      const plan = await this.plan(m, listed, dto.prune ?? false);
      if (!dryRun) await this.apply(m, plan);
      return plan;
    };
    // A PUT of the same new entry committing meanwhile (PostgreSQL) is a conflict to retry, not a 500.
    const plan = dryRun
      ? await this.db.read(run)
      : await this.db
          .tx(run)
          .catch(asConflict(() => new DomainError('IMPORT_CONFLICT', 'an entry was created while the import ran; nothing was imported: run it again')));
    const count = (r: ImportResult) => plan.outcomes.filter((o) => o.result === r).length;
    return {
      dryRun,
      summary: { created: count('created'), updated: count('updated'), unchanged: count('unchanged'), skipped: count('skipped'), deleted: count('deleted') },
      warnings,
      entries: plan.outcomes,
    };
  }

  private async plan(m: EntityManager, listed: XmlEntry[], prune: boolean): Promise<Plan> {
    const have = new Map((await m.find(FactoryEntry)).map((e) => [e.name, e]));
    const plan: Plan = { outcomes: [], writes: [], deletes: [] };
    // What prune keeps: every entry the XML names, except the disabled ones (an entry set, or an
    // entry skipped for a bad field, may have been defined by hand: a typo must not delete it).
    const kept = new Set<string>();
    for (const x of listed) {
      const checked = checkEntry(x);
      if (!('reason' in checked && checked.reason === 'DISABLED')) kept.add(x.name);
      if ('reason' in checked) {
        plan.outcomes.push({ name: x.name, result: 'skipped', ...checked });
        continue;
      }
      const existing = have.get(x.name) ?? null;
      const changes: ImportOutcome['changes'] = {};
      for (const f of FROM_XML) if ((existing?.[f] ?? null) !== checked.fields[f]) changes[f] = { from: existing?.[f] ?? null, to: checked.fields[f] };
      const warnings = checked.warnings.length ? { warnings: checked.warnings } : {};
      if (existing && !Object.keys(changes).length) {
        plan.outcomes.push({ name: x.name, result: 'unchanged', ...warnings });
        continue;
      }
      plan.outcomes.push({ name: x.name, result: existing ? 'updated' : 'created', changes, ...warnings });
      plan.writes.push({ name: x.name, fields: checked.fields, existing });
    }
    if (prune) {
      for (const name of [...have.keys()].sort()) {
        if (kept.has(name)) continue;
        plan.outcomes.push({ name, result: 'deleted', message: 'the XML does not define it, or disables it (prune)' });
        plan.deletes.push(name);
      }
    }
    return plan;
  }

  private async apply(m: EntityManager, plan: Plan): Promise<void> {
    const now = this.clock.now();
    for (const w of plan.writes) {
      const entry = Object.assign(new FactoryEntry(), {
        securityClass: null,
        glideinScitoken: false,
        maxPilotLifeSeconds: null,
        glideinBootstrap: 'ticket',
        createdAt: now,
        ...w.existing,
        ...w.fields,
        name: w.name,
        updatedAt: now,
      });
      await m.save(FactoryEntry, entry);
      await this.audit.record(m, {
        action: w.existing ? 'factory.entry.update' : 'factory.entry.create',
        target: `entry:${w.name}`,
        detail: { ...entryResponse(entry), source: 'glideinWMS.xml' },
      });
    }
    for (const name of plan.deletes) await this.entries.removeIn(m, name);
    const count = (r: ImportResult) => plan.outcomes.filter((o) => o.result === r).length;
    await this.audit.record(m, {
      action: 'factory.entries.import',
      target: 'entries',
      detail: { created: count('created'), updated: count('updated'), unchanged: count('unchanged'), skipped: count('skipped'), deleted: count('deleted') },
    });
  }

  /** What in the XML says glidekey's factory settings differ from GlideinWMS's (the cache files would land elsewhere). */
  private documentWarnings(docs: GlideinXml[]): { code: string; message: string }[] {
    const { instanceName, cacheDir } = this.settings.config.factory;
    const out: { code: string; message: string }[] = [];
    const name = docs.find((d) => d.glideinName)?.glideinName;
    if (name && name !== instanceName)
      out.push({
        code: 'INSTANCE_NAME_DIFFERS',
        message: `the XML's glidein_name is ${name}, factory.instanceName is ${instanceName}: cache files go under glidein_${instanceName}/`,
      });
    const dir = docs.find((d) => d.clientProxiesDir)?.clientProxiesDir;
    if (dir && cacheDir && dir.replace(/\/+$/, '') !== cacheDir.replace(/\/+$/, ''))
      out.push({ code: 'CACHE_DIR_DIFFERS', message: `the XML's base_client_proxies_dir is ${dir}, factory.cacheDir is ${cacheDir}` });
    return out;
  }
}

/** One XML entry as the fields of a glidekey entry, validated as PUT /factory/entries validates them, or why it is skipped. */
function checkEntry(x: XmlEntry): { fields: XmlFields; warnings: { code: string; message: string }[] } | { reason: string; message: string } {
  if (!PLAIN_NAME.test(x.name)) return { reason: 'INVALID_NAME', message: `entry name must match ${PLAIN_NAME.source}` };
  if (x.kind === 'entry_set')
    return { reason: 'ENTRY_SET', message: 'an entry set picks one of several sub-entries (CEs) per glidein; define it with PUT /factory/entries/{alias}' };
  const enabled = x.enabled.trim().toLowerCase();
  if (enabled === 'false') return { reason: 'DISABLED', message: 'enabled="False": not imported; an existing entry of this name is kept (prune deletes it)' };
  if (enabled !== 'true') return { reason: 'INVALID_FIELD', message: 'enabled must be True or False' };
  const site = x.attrs.get('GLIDEIN_Site');
  if (site === undefined) return { reason: 'NO_SITE', message: 'the entry has no GLIDEIN_Site attr (the frontend names its token files after it)' };
  const warnings: { code: string; message: string }[] = [];
  let condorVersion: string | null = x.attrs.get('CONDOR_VERSION') ?? null;
  if (condorVersion !== null && !CONDOR_VERSION.test(condorVersion)) {
    warnings.push({
      code: 'CONDOR_VERSION_UNKNOWN',
      message: `CONDOR_VERSION ${JSON.stringify(condorVersion.slice(0, 64))} is not a version (e.g. 23.0.3): imported as unknown, so no IDTOKEN is sent to this entry`,
    });
    condorVersion = null;
  }
  const fields: XmlFields = { site, gatekeeper: x.gatekeeper ?? '', trustDomain: x.trustDomain, authMethod: x.authMethod, condorVersion };
  const dto = plainToInstance(PutEntryDto, { ...fields, condorVersion: condorVersion ?? undefined });
  const errors = validateSync(dto);
  if (errors.length) {
    const e = errors[0];
    const xmlName =
      { site: 'GLIDEIN_Site', gatekeeper: 'gatekeeper', trustDomain: 'trust_domain', authMethod: 'auth_method', condorVersion: 'CONDOR_VERSION' }[e.property] ??
      e.property;
    return { reason: 'INVALID_FIELD', message: `${xmlName}: ${Object.values(e.constraints ?? {})[0] ?? 'invalid'}` };
  }
  return { fields, warnings };
}
