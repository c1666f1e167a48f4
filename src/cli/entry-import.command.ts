import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Verb } from './command.js';
import { CliError, EXIT, localError } from './exit-codes.js';
import { json, note, out } from './output.js';
import { oneArg } from './simple-verbs.js';

/** The service takes up to 8 MiB per request; refuse bigger files here, before sending. */
const MAX_BYTES = 8 * 1024 * 1024;

interface Outcome {
  name: string;
  result: string;
  reason?: string;
  message?: string;
  changes?: Record<string, { from: string | null; to: string | null }>;
  warnings?: { code: string; message: string }[];
}

function readXml(path: string): string {
  try {
    if (statSync(path).size > MAX_BYTES) throw localError(`${path} is larger than 8 MiB`);
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw localError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

const show = (v: string | null) => (v === null ? '-' : JSON.stringify(v));

/** One line per entry: `created NAME`, `updated NAME: field "a" -> "b", ...`, `skipped NAME (REASON: why)`. */
function line(o: Outcome): string {
  const changes = Object.entries(o.changes ?? {}).map(([f, c]) => `${f} ${show(c.from)} -> ${show(c.to)}`);
  const why = o.reason ? ` (${o.reason}: ${o.message})` : o.result === 'updated' ? `: ${changes.join(', ')}` : '';
  const warn = (o.warnings ?? []).map((w) => `\n  warning ${w.code}: ${w.message}`).join('');
  return `${o.result} ${o.name}${why}${warn}\n`;
}

/** `glidekey entry import <glideinWMS.xml>`: POST /factory/entries/import with the file and, as GlideinWMS merges them, its config.d/*.xml. */
export const importEntries: Verb = {
  usage: '<glideinWMS.xml> [-dry-run] [-prune] [-no-config-d]',
  summary: "create or update entries from a factory's glideinWMS.xml (and its config.d/*.xml)",
  details:
    'Each enabled <entry> becomes the entry of its name: GLIDEIN_Site, gatekeeper, trust_domain, auth_method, CONDOR_VERSION. ' +
    'Entries the XML does not define are kept unless -prune. -dry-run shows the same lines and changes nothing.',
  options: {
    'dry-run': { type: 'boolean', help: 'show what would change; change nothing' },
    prune: { type: 'boolean', help: 'also delete the entries the XML does not define (or disables)' },
    'no-config-d': { type: 'boolean', help: 'do not read the config.d/*.xml beside the file' },
  },
  async run(ctx) {
    const path = oneArg(ctx, 'glideinWMS.xml');
    const xml = readXml(path);
    const dir = join(dirname(path), 'config.d');
    const fragments =
      !ctx.opts['no-config-d'] && existsSync(dir)
        ? readdirSync(dir)
            .filter((f) => f.endsWith('.xml'))
            .sort()
        : [];
    const body = {
      xml,
      ...(fragments.length ? { configD: fragments.map((f) => readXml(join(dir, f))) } : {}),
      ...(ctx.opts['dry-run'] ? { dryRun: true } : {}),
      ...(ctx.opts.prune ? { prune: true } : {}),
    };
    const { data } = await ctx
      .api()
      .call<{ dryRun: boolean; summary: Record<string, number>; warnings: { code: string; message: string }[]; entries: Outcome[] }>(
        'POST',
        '/factory/entries/import',
        body,
      );
    if (ctx.json) {
      json(data);
      return EXIT.OK;
    }
    if (fragments.length) note(`read ${fragments.length} config.d fragment(s): ${fragments.join(', ')}`);
    for (const w of data.warnings) note(`warning ${w.code}: ${w.message}`);
    for (const o of data.entries) out(line(o));
    const s = data.summary;
    note(
      `${data.dryRun ? 'dry run, nothing changed: would have ' : ''}created ${s.created}, updated ${s.updated}, unchanged ${s.unchanged}, skipped ${s.skipped}, deleted ${s.deleted}`,
    );
    return EXIT.OK;
  },
};
