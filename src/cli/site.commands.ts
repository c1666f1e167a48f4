import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-file.js';
import { condorHides } from '../sites/site-name.js';
import { intOption, list, OptionSpecs, OptionValues, str } from './args.js';
import { Context, Noun, Verb } from './command.js';
import { EXIT, localError, usageError } from './exit-codes.js';
import { ServiceError } from './http-client.js';
import { json, keyValues, note, out, table } from './output.js';

const enc = encodeURIComponent;

const POLICY: OptionSpecs = {
  issuer: { type: 'string', help: "<trust domain>  the iss claim: the collector's TRUST_DOMAIN" },
  identity: { type: 'string', help: '<user@domain>  the default sub claim' },
  authz: { type: 'string', multiple: true, help: '<LEVEL>  an authorization level of the site; repeat for more' },
  'widen-scopes': { type: 'boolean', help: "allow levels wider than a pilot's" },
  lifetime: { type: 'string', help: '<seconds>  default token lifetime' },
  'max-lifetime': { type: 'string', help: '<seconds>  longest token lifetime' },
};

function policy(opts: OptionValues): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (str(opts, 'issuer') !== undefined) body.issuer = str(opts, 'issuer');
  if (str(opts, 'identity') !== undefined) body.identity = str(opts, 'identity');
  if (list(opts, 'authz').length) body.scopes = list(opts, 'authz');
  if (opts['widen-scopes']) body.widenScopes = true;
  const lifetime = intOption(opts, 'lifetime', 1);
  const max = intOption(opts, 'max-lifetime', 1);
  if (lifetime !== undefined) body.lifetimeSeconds = lifetime;
  if (max !== undefined) body.maxLifetimeSeconds = max;
  return body;
}

function oneArg(ctx: Context, what: string): string {
  const [v, extra] = ctx.args;
  if (!v || extra) throw usageError(`give one ${what}`);
  return v;
}

interface SiteView {
  name: string;
  kid: string;
  issuer: string;
  identity: string;
  scopes: string[];
  key: { version: number; fingerprint: string; length: number; source: string };
  activeTokenCount: number;
  nextRotationAt: string | null;
  warnings?: { code: string; message: string }[];
}

const listVerb: Verb = {
  usage: '',
  summary: 'the sites, their key versions and policy',
  async run(ctx) {
    const { data } = await ctx.api().call<SiteView[]>('GET', '/sites');
    if (ctx.json) json(data);
    else
      out(
        table(data, [
          ['name', (s) => s.name],
          ['kid', (s) => s.kid],
          ['version', (s) => s.key.version],
          ['issuer', (s) => s.issuer],
          ['identity', (s) => s.identity],
          ['scopes', (s) => s.scopes],
          ['tokens', (s) => s.activeTokenCount],
          ['next rotation', (s) => s.nextRotationAt],
        ]),
      );
    return EXIT.OK;
  },
};

const show: Verb = {
  usage: '<site>',
  summary: "one site's metadata, policy and usable key versions (never key bytes)",
  async run(ctx) {
    const { data } = await ctx.api().call('GET', `/sites/${enc(oneArg(ctx, 'site'))}`);
    if (ctx.json) json(data);
    else out(keyValues(data as Record<string, unknown>));
    return EXIT.OK;
  },
};

const printWarnings = (site: SiteView) => site.warnings?.forEach((w) => note(`warning: ${w.code}: ${w.message}`));

const create: Verb = {
  usage: '<name> [-issuer <trust domain>] [-identity <user@domain>] [-authz <LEVEL>]... [-lifetime <s>] [-max-lifetime <s>] [-widen-scopes]',
  summary: 'create a site with a new 64-byte random key',
  options: POLICY,
  async run(ctx) {
    const { data } = await ctx.api().call<SiteView>('POST', '/sites', { name: oneArg(ctx, 'site name'), ...policy(ctx.opts) });
    printWarnings(data);
    if (ctx.json) json(data);
    else note(`created site ${data.name} (kid ${data.kid}, key fingerprint ${data.key.fingerprint})`);
    return EXIT.OK;
  },
};

type Outcome = 'created' | 'exists' | 'skipped' | 'refused' | 'unreadable';
interface ImportResult {
  file: string;
  site: string;
  result: Outcome;
  code?: string;
  message?: string;
}

/** One passwords.d file as a site of its name: created, already there with the same key, or refused. */
async function importOne(ctx: Context, file: string, site: string, body: Record<string, unknown>): Promise<ImportResult> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    return { file, site, result: 'unreadable', code: (err as NodeJS.ErrnoException).code ?? 'ERROR', message: 'cannot read the file' };
  }
  try {
    // The file is the scrambled key as HTCondor writes it; base64 keeps every byte (NUL, 0xff, a trailing newline).
    const { data } = await ctx.api().call<SiteView>('POST', '/sites', { name: site, ...body, key: { format: 'condor', data: bytes.toString('base64') } });
    const warning = data.warnings?.[0];
    return { file, site, result: 'created', ...(warning ? { code: warning.code, message: warning.message } : {}) };
  } catch (err) {
    if (!(err instanceof ServiceError) || err.status >= 500) throw err;
    if (err.code !== 'SITE_EXISTS') return { file, site, result: 'refused', code: err.code, message: err.detail };
    const { body: current } = await ctx.api().call('GET', `/sites/${enc(site)}/keyfile`);
    return current.equals(bytes)
      ? { file, site, result: 'exists', code: 'SAME_KEY', message: 'the site exists with this very key' }
      : { file, site, result: 'refused', code: 'SITE_EXISTS', message: 'the site exists with a different key; nothing changed' };
  } finally {
    bytes.fill(0);
  }
}

const importVerb: Verb = {
  usage: '<passwords.d file or directory> [-name <site>] [-issuer <trust domain>] [-identity <user@domain>] [-authz <LEVEL>]...',
  summary: 'import HTCondor key files (passwords.d) as sites named after the files',
  details: `A directory: every regular file becomes a site of its file name (POOL included); names HTCondor
itself ignores in passwords.d (.x, x~, x.sh, ...) are skipped. One line per file: created, exists
(the site already has this very key), skipped, refused <CODE> or unreadable. Exit 0 when every file
is created or exists, 3 when the service refused one, 1 when one could not be read.
-name names the site of a single file (default the file name).`,
  options: { ...POLICY, name: { type: 'string', help: '<site>  site name for a single file (default its file name)' } },
  async run(ctx) {
    const target = oneArg(ctx, 'file or directory');
    let st;
    try {
      st = statSync(target);
    } catch (err) {
      throw localError(`cannot read ${target}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    const body = policy(ctx.opts);
    const results: ImportResult[] = [];
    if (st.isDirectory()) {
      if (ctx.opts.name !== undefined) throw usageError('-name is for a single file, not a directory');
      for (const name of readdirSync(target).sort()) {
        const file = join(target, name);
        let isFile: boolean;
        try {
          isFile = statSync(file).isFile();
        } catch {
          // dangling link: reported as unreadable below
          isFile = true;
        }
        if (!isFile) continue;
        const hidden = condorHides(name);
        if (hidden)
          results.push({ file, site: name, result: 'skipped', code: 'HIDDEN_BY_CONDOR', message: `HTCondor ignores a passwords.d file with ${hidden}` });
        else results.push(await importOne(ctx, file, name, body));
      }
    } else results.push(await importOne(ctx, target, str(ctx.opts, 'name') ?? basename(target), body));
    if (ctx.json) json(results);
    else
      out(
        table(results, [
          ['file', (r) => r.file],
          ['site', (r) => r.site],
          ['result', (r) => r.result],
          ['code', (r) => r.code],
          ['message', (r) => r.message],
        ]),
      );
    if (results.some((r) => r.result === 'unreadable')) return EXIT.LOCAL;
    return results.some((r) => r.result === 'refused') ? EXIT.REFUSED : EXIT.OK;
  },
};

const rotate: Verb = {
  usage: '<site> [-grace <seconds>]',
  summary: 'a new key version now (-grace 0: earlier tokens stop verifying at once)',
  options: { grace: { type: 'string', help: "<seconds>  how long the previous key's tokens keep verifying (default the site's policy)" } },
  async run(ctx) {
    const grace = intOption(ctx.opts, 'grace', 0);
    const { data } = await ctx.api().call('POST', `/sites/${enc(oneArg(ctx, 'site'))}/rotate`, grace === undefined ? {} : { graceSeconds: grace });
    if (ctx.json) json(data);
    else out(keyValues(data as Record<string, unknown>));
    return EXIT.OK;
  },
};

const keyfile: Verb = {
  usage: '<site> [-version <n>] [-out <file>]',
  summary: "the site's passwords.d file (scrambled bytes, as condor_store_cred writes them)",
  details: 'Written with mode 0600 to -out (atomically), or to stdout only when stdout is not a terminal.',
  options: {
    version: { type: 'string', help: '<n>  a usable key version (default the active one)' },
    out: { type: 'string', help: '<file>  write the key file here, mode 0600' },
  },
  async run(ctx) {
    const site = oneArg(ctx, 'site');
    const file = str(ctx.opts, 'out');
    if (file === undefined && process.stdout.isTTY) throw usageError('refusing to print a key to a terminal: give -out <file> or redirect stdout');
    const version = intOption(ctx.opts, 'version', 1);
    const { body } = await ctx.api().call('GET', `/sites/${enc(site)}/keyfile${version === undefined ? '' : `?version=${version}`}`);
    try {
      if (file === undefined) {
        process.stdout.write(body);
        return EXIT.OK;
      }
      try {
        writeFileAtomic(file, body, 0o600);
      } catch (err) {
        throw localError(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      if (ctx.json) json({ site, file, bytes: body.length });
      else note(`wrote ${site}'s key file to ${file} (mode 0600, ${body.length} bytes)`);
      return EXIT.OK;
    } finally {
      if (file !== undefined) body.fill(0);
    }
  },
};

const update: Verb = {
  usage:
    '<site> [-issuer <trust domain>] [-identity <user@domain>] [-authz <LEVEL>]... [-lifetime <s>] [-max-lifetime <s>] [-widen-scopes] [-rotate-every <s> | -rotate-cron <expr> | -no-rotation] [-rotation-grace <s>] [-row-version <n>]',
  summary: "change a site's policy (its key stays)",
  details: 'Only the options given change. -row-version: refuse (409 STALE_VERSION) if the site changed since it was read at that version.',
  options: {
    ...POLICY,
    'rotate-every': { type: 'string', help: '<seconds>  rotate the key this often' },
    'rotate-cron': { type: 'string', help: '<expr>  rotate the key on this cron schedule' },
    'no-rotation': { type: 'boolean', help: 'stop rotating the key on a schedule' },
    'rotation-grace': { type: 'string', help: "<seconds>  how long the previous key's tokens keep verifying after a rotation" },
    'row-version': { type: 'string', help: '<n>  the rowVersion last read (site show)' },
  },
  async run(ctx) {
    const site = oneArg(ctx, 'site');
    const body = policy(ctx.opts);
    const every = intOption(ctx.opts, 'rotate-every', 1);
    const cron = str(ctx.opts, 'rotate-cron');
    const grace = intOption(ctx.opts, 'rotation-grace', 0);
    const off = Boolean(ctx.opts['no-rotation']);
    if ([every !== undefined, cron !== undefined, off].filter(Boolean).length > 1) throw usageError('give one of -rotate-every, -rotate-cron, -no-rotation');
    if (grace !== undefined && every === undefined && cron === undefined && !off)
      throw usageError('-rotation-grace goes with -rotate-every, -rotate-cron or -no-rotation');
    if (every !== undefined || cron !== undefined || off) {
      body.rotation = {
        enabled: !off,
        ...(every !== undefined ? { intervalSeconds: every } : {}),
        ...(cron !== undefined ? { cron } : {}),
        ...(grace !== undefined ? { graceSeconds: grace } : {}),
      };
    }
    const rowVersion = intOption(ctx.opts, 'row-version', 1);
    if (rowVersion !== undefined) body.rowVersion = rowVersion;
    if (!Object.keys(body).filter((k) => k !== 'rowVersion').length) throw usageError('give at least one policy option to change');
    const { data } = await ctx.api().call('PATCH', `/sites/${enc(site)}`, body);
    if (ctx.json) json(data);
    else out(keyValues(data as Record<string, unknown>));
    return EXIT.OK;
  },
};

const remove: Verb = {
  usage: '<site>',
  summary: 'delete a site with every key version: its tokens stop verifying',
  async run(ctx) {
    const site = oneArg(ctx, 'site');
    await ctx.api().call('DELETE', `/sites/${enc(site)}`);
    if (ctx.json) json({ deleted: site });
    else note(`deleted site ${site}`);
    return EXIT.OK;
  },
};

export const siteNoun: Noun = {
  summary: 'sites (one HTCondor signing key each)',
  verbs: { list: listVerb, show, create, update, import: importVerb, rotate, keyfile, delete: remove },
};
