import { required, str } from './args.js';
import { Noun, Verb } from './command.js';
import { usageError } from './exit-codes.js';
import { readJsonFile } from './registration.commands.js';
import { readSecretFile } from './secret-file.js';
import { deleteVerb, enc, listVerb, oneArg, printResult, showVerb } from './simple-verbs.js';

interface SciTokenView {
  name: string;
  trustDomain: string;
  state: string;
  expiresAt: string | null;
  allEntries: boolean;
  claims?: { iss?: string; sub?: string; aud?: unknown };
}

const put: Verb = {
  usage: '<name> -trust-domain <label> (-file <token file> | -source-path <path>) [-security-class <c>] [-all-entries] [-force]',
  summary: 'store or replace a VO SciToken (checked on the way in)',
  details: 'The token is read from -file (mode 0600 required), never from the command line; or the service follows -source-path.',
  options: {
    'trust-domain': { type: 'string', help: "<label>  GlideinWMS's matching label, e.g. OSG" },
    file: { type: 'string', help: '<file>  0600 file holding the SciToken' },
    'source-path': { type: 'string', help: '<path>  a file under scitokens.sourceDirs the service follows' },
    'security-class': { type: 'string', help: '<c>  GlideinWMS security class' },
    'all-entries': { type: 'boolean', help: 'send it to every entry of its label, whatever its aud' },
    force: { type: 'boolean', help: 'replace a token that expires later' },
  },
  async run(ctx) {
    const name = oneArg(ctx, 'SciToken name');
    const file = str(ctx.opts, 'file');
    const source = str(ctx.opts, 'source-path');
    if ((file === undefined) === (source === undefined)) throw usageError('give -file <token file> or -source-path <path>');
    const body: Record<string, unknown> = { trustDomain: required(ctx.opts, 'trust-domain') };
    if (file !== undefined) body.token = readSecretFile(file, 'SciToken');
    else body.sourcePath = source;
    if (str(ctx.opts, 'security-class') !== undefined) body.securityClass = str(ctx.opts, 'security-class');
    if (ctx.opts['all-entries']) body.allEntries = true;
    if (ctx.opts.force) body.force = true;
    return printResult(ctx, (await ctx.api().call('PUT', `/scitokens/${enc(name)}`, body)).data);
  },
};

export const scitokenNoun: Noun = {
  summary: 'VO SciTokens to forward (frontend role)',
  verbs: {
    list: listVerb<SciTokenView>('stored SciTokens: metadata and state, never a token', '/scitokens', [
      ['name', (s) => s.name],
      ['trust domain', (s) => s.trustDomain],
      ['state', (s) => s.state],
      ['expires', (s) => s.expiresAt],
      ['iss', (s) => s.claims?.iss],
      ['sub', (s) => s.claims?.sub],
      ['all entries', (s) => s.allEntries],
    ]),
    show: showVerb("one SciToken's metadata, claims and state", 'name', (n) => `/scitokens/${enc(n)}`),
    put,
    delete: deleteVerb('revoke and forget a SciToken', 'name', (n) => `/scitokens/${enc(n)}`),
  },
};

interface IssuerView {
  id: string;
  issuer: string;
  keys: { kid: string | null }[];
}

export const issuerNoun: Noun = {
  summary: 'trusted SciToken issuers (frontend role)',
  verbs: {
    list: listVerb<IssuerView>('trusted issuers and their key ids', '/scitoken-issuers', [
      ['id', (i) => i.id],
      ['issuer', (i) => i.issuer],
      ['key ids', (i) => i.keys.map((k) => k.kid)],
    ]),
    put: {
      usage: '<id> -issuer <url> -jwks <file>',
      summary: 'trust an issuer: its iss and public keys (a JWKS file, {"keys": [...]})',
      options: {
        issuer: { type: 'string', help: '<url>  the iss its tokens carry' },
        jwks: { type: 'string', help: '<file>  its public keys as a JWKS (JSON)' },
      },
      async run(ctx) {
        const id = oneArg(ctx, 'issuer id');
        const body = { issuer: required(ctx.opts, 'issuer'), jwks: readJsonFile(required(ctx.opts, 'jwks')) };
        return printResult(ctx, (await ctx.api().call('PUT', `/scitoken-issuers/${enc(id)}`, body)).data);
      },
    },
    delete: deleteVerb(
      'stop trusting an issuer: its stored SciTokens read invalid and are withdrawn from factories',
      'issuer',
      (id) => `/scitoken-issuers/${enc(id)}`,
    ),
  },
};
