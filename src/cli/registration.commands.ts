import { readFileSync } from 'node:fs';
import { intOption, required, str } from './args.js';
import { Noun, Verb } from './command.js';
import { EXIT, localError, usageError } from './exit-codes.js';
import { json, note, out } from './output.js';
import { readApiKeyFile } from './secret-file.js';
import { importEntries } from './entry-import.command.js';
import { deleteVerb, enc, listVerb, oneArg, printResult } from './simple-verbs.js';

interface FactoryView {
  name: string;
  url: string;
  fingerprint?: string;
  syncedAt?: string | null;
  syncError?: string | null;
  entries?: unknown[];
}

const registerFactory: Verb = {
  usage: '<name> -factory-url <url> -public-key <base64> -factory-key-file <file>',
  summary: 'register a factory to forward credentials to (its API key read from a 0600 file)',
  options: {
    'factory-url': { type: 'string', help: "<url>  the factory's glidekey base URL" },
    'public-key': { type: 'string', help: "<base64>  the factory's X25519 key (GET /factory/identity), pinned" },
    'factory-key-file': { type: 'string', help: '<file>  0600 file with the API key the factory admin made for us' },
  },
  async run(ctx) {
    const name = oneArg(ctx, 'factory name');
    const apiKey = readApiKeyFile(required(ctx.opts, 'factory-key-file'), 'factory API key');
    const body = { name, url: required(ctx.opts, 'factory-url'), publicKey: required(ctx.opts, 'public-key'), apiKey };
    return printResult(ctx, (await ctx.api().call('POST', '/factories', body)).data);
  },
};

const sync: Verb = {
  usage: '<name>',
  summary: "forward now: read the factory's entries and send what is due",
  async run(ctx) {
    return printResult(ctx, (await ctx.api().call('POST', `/factories/${enc(oneArg(ctx, 'factory name'))}/sync`, {})).data);
  },
};

const deliveries: Verb = {
  usage: '[-factory <name>] [-entry <entry>] [-state <state>] [-limit <n>]',
  summary: 'the outbox, newest first (never a credential)',
  options: {
    factory: { type: 'string', help: '<name>  only this factory' },
    entry: { type: 'string', help: '<entry>  only this entry' },
    state: { type: 'string', help: '<state>  pending, delivered, superseded, dropped or refused' },
    limit: { type: 'string', help: '<n>  at most n rows' },
  },
  async run(ctx) {
    const q = new URLSearchParams();
    for (const k of ['factory', 'entry', 'state']) if (str(ctx.opts, k) !== undefined) q.set(k, str(ctx.opts, k)!);
    const limit = intOption(ctx.opts, 'limit', 1);
    if (limit !== undefined) q.set('limit', String(limit));
    const { data } = await ctx.api().call('GET', `/deliveries${q.size ? `?${q}` : ''}`);
    if (ctx.json) json(data);
    else out(JSON.stringify(data, null, 2) + '\n');
    return EXIT.OK;
  },
};

const updateFactory: Verb = {
  usage: '<name> [-factory-url <url>] [-public-key <base64>] [-factory-key-file <file>] [-row-version <n>]',
  summary: "change a factory's URL, pinned public key or the API key it gave us",
  details: 'Pending deliveries go at once with the new values. The API key is read from a 0600 file, never from the command line, and never shown.',
  options: {
    'factory-url': { type: 'string', help: "<url>  the factory's new glidekey base URL" },
    'public-key': { type: 'string', help: '<base64>  its new X25519 key (GET /factory/identity), pinned' },
    'factory-key-file': { type: 'string', help: '<file>  0600 file with the new API key the factory admin made for us' },
    'row-version': { type: 'string', help: '<n>  the rowVersion last read (factory list --json): refuse if it moved' },
  },
  async run(ctx) {
    const name = oneArg(ctx, 'factory name');
    const body: Record<string, unknown> = {};
    if (str(ctx.opts, 'factory-url') !== undefined) body.url = str(ctx.opts, 'factory-url');
    if (str(ctx.opts, 'public-key') !== undefined) body.publicKey = str(ctx.opts, 'public-key');
    if (str(ctx.opts, 'factory-key-file') !== undefined) body.apiKey = readApiKeyFile(str(ctx.opts, 'factory-key-file')!, 'factory API key');
    if (!Object.keys(body).length) throw usageError('give -factory-url, -public-key or -factory-key-file');
    const rowVersion = intOption(ctx.opts, 'row-version', 1);
    if (rowVersion !== undefined) body.rowVersion = rowVersion;
    return printResult(ctx, (await ctx.api().call('PATCH', `/factories/${enc(name)}`, body)).data);
  },
};

export const factoryNoun: Noun = {
  summary: 'factories this frontend forwards to (frontend role)',
  verbs: {
    list: listVerb<FactoryView>('registered factories, their last sync and entries', '/factories', [
      ['name', (f) => f.name],
      ['url', (f) => f.url],
      ['entries', (f) => f.entries?.length ?? 0],
      ['synced', (f) => f.syncedAt],
      ['sync error', (f) => f.syncError],
    ]),
    register: registerFactory,
    update: updateFactory,
    delete: deleteVerb('forget a factory, its outbox and its last-seen entries (nothing is sent to it afterwards)', 'factory', (n) => `/factories/${enc(n)}`),
    sync,
    deliveries,
  },
};

interface EntryView {
  name: string;
  site: string;
  gatekeeper: string;
  trustDomain: string;
  authMethod: string;
  condorVersion: string | null;
  glideinScitoken: boolean;
}

const putEntry: Verb = {
  usage:
    '<entry> -site <site> -gatekeeper <ce> -trust-domain <label> -auth-method <methods> [-condor-version <v>] [-security-class <c>] [-glidein-scitoken] [-max-pilot-life <s>] [-glidein-bootstrap ticket|token]',
  summary: 'create or replace a factory entry',
  options: {
    site: { type: 'string', help: '<site>  the Glidein_Site it serves' },
    gatekeeper: {
      type: 'string',
      help: '<ce>  as in glideinWMS.xml: host[:port], "host host:port" (HTCondor-CE), https://host[:port][/path], host/path, user@host',
    },
    'trust-domain': { type: 'string', help: "<label>  GlideinWMS's trust_domain matching label (OSG, grid), not HTCondor's TRUST_DOMAIN" },
    'auth-method': { type: 'string', help: '<methods>  e.g. scitoken, grid_proxy+project_id' },
    'condor-version': { type: 'string', help: "<v>  the CE's HTCondor version" },
    'security-class': { type: 'string', help: '<c>  GlideinWMS security class' },
    'glidein-scitoken': { type: 'boolean', help: 'the glidein bootstrap also hands out the SciToken' },
    'max-pilot-life': { type: 'string', help: '<seconds>  how long its glideins may renew' },
    'glidein-bootstrap': { type: 'string', help: 'ticket|token  token: its glideins may also bootstrap with the factory-shipped IDTOKEN (default ticket)' },
  },
  async run(ctx) {
    const entry = oneArg(ctx, 'entry');
    const body: Record<string, unknown> = {
      site: required(ctx.opts, 'site'),
      gatekeeper: required(ctx.opts, 'gatekeeper'),
      trustDomain: required(ctx.opts, 'trust-domain'),
      authMethod: required(ctx.opts, 'auth-method'),
    };
    if (str(ctx.opts, 'condor-version') !== undefined) body.condorVersion = str(ctx.opts, 'condor-version');
    if (str(ctx.opts, 'security-class') !== undefined) body.securityClass = str(ctx.opts, 'security-class');
    if (ctx.opts['glidein-scitoken']) body.glideinScitoken = true;
    const life = intOption(ctx.opts, 'max-pilot-life', 1);
    if (life !== undefined) body.maxPilotLifeSeconds = life;
    if (str(ctx.opts, 'glidein-bootstrap') !== undefined) body.glideinBootstrap = str(ctx.opts, 'glidein-bootstrap');
    return printResult(ctx, (await ctx.api().call('PUT', `/factory/entries/${enc(entry)}`, body)).data);
  },
};

export const entryNoun: Noun = {
  summary: 'factory entries (factory role)',
  verbs: {
    list: listVerb<EntryView>('the entries', '/factory/entries', [
      ['name', (e) => e.name],
      ['site', (e) => e.site],
      ['gatekeeper', (e) => e.gatekeeper],
      ['trust domain', (e) => e.trustDomain],
      ['auth', (e) => e.authMethod],
      ['condor', (e) => e.condorVersion],
      ['scitoken', (e) => e.glideinScitoken],
    ]),
    put: putEntry,
    import: importEntries,
    delete: {
      usage: '<entry>',
      summary: 'delete an entry and the credentials cached for it',
      async run(ctx) {
        const entry = oneArg(ctx, 'entry');
        await ctx.api().call('DELETE', `/factory/entries/${enc(entry)}`);
        if (ctx.json) json({ deleted: entry });
        else note(`deleted entry ${entry}`);
        return EXIT.OK;
      },
    },
  },
};

/** Reads a small JSON file (a JWKS). */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw localError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw usageError(`${path} is not JSON`);
  }
}
