import { intOption, list, str } from './args.js';
import { Context, Noun, Verb } from './command.js';
import { EXIT, usageError } from './exit-codes.js';
import { json, keyValues, note, out, table } from './output.js';
import { defaultTokenDir, tokenDirLines, tokenFileLines, tokensInFile, writeTokenFile, writeTokenToDir } from './token-files.js';

interface Minted {
  token: string;
  jti: string;
  kid: string;
  keyVersion: number;
  issuer: string;
  subject: string;
  scopes: string[];
  issuedAt: number;
  expiresAt: number;
}

const create: Verb = {
  usage: '-identity <user@domain> -key <site> [-authz <LEVEL>]... [-lifetime <seconds>] [-token <name> | -file <path>]',
  summary: 'mint an IDTOKEN for a site, as condor_token_create does',
  details: `The token goes to stdout, or with -token into <token dir>/<name> (mode 0600, the directory made
0700), or with -file into <path>; one token and a newline, as condor_token_create writes it.
-key is the site (the key name, the token's kid); without it POOL, as in condor_token_create.
-identity is the sub claim (default the site's identity); -authz one authorization level, READ or
condor:/READ, repeated (default the site's scopes); -lifetime in seconds (default the site's).
The token directory: _CONDOR_SEC_TOKEN_DIRECTORY, else ~/.condor/tokens.d (root: /etc/condor/tokens.d).
With --json the mint response is printed (without the token when it went to a file).`,
  options: {
    identity: { type: 'string', help: '<user@domain>  the sub claim' },
    key: { type: 'string', help: '<site>  the site whose key signs (default POOL)' },
    authz: { type: 'string', multiple: true, help: '<LEVEL>  an authorization level; repeat for more' },
    lifetime: { type: 'string', help: '<seconds>  token lifetime' },
    token: { type: 'string', help: '<name>  write to the token directory under this name' },
    file: { type: 'string', help: '<path>  write to this file' },
  },
  async run(ctx) {
    const site = str(ctx.opts, 'key') ?? 'POOL';
    if (ctx.opts.token !== undefined && ctx.opts.file !== undefined) throw usageError('give -token or -file, not both');
    if (ctx.args.length) throw usageError(`unexpected argument ${ctx.args[0]}`);
    const body: Record<string, unknown> = {};
    if (ctx.opts.identity !== undefined) body.subject = str(ctx.opts, 'identity');
    if (list(ctx.opts, 'authz').length) body.scopes = list(ctx.opts, 'authz');
    const lifetime = intOption(ctx.opts, 'lifetime', 1);
    if (lifetime !== undefined) body.lifetimeSeconds = lifetime;
    const { data } = await ctx.api().call<Minted>('POST', `/sites/${encodeURIComponent(site)}/tokens`, body);
    const name = str(ctx.opts, 'token');
    const file = str(ctx.opts, 'file');
    const path = name !== undefined ? writeTokenToDir(defaultTokenDir(), name, data.token) : file !== undefined ? writeTokenFile(file, data.token) : undefined;
    if (path === undefined) {
      if (ctx.json) json(data);
      else out(data.token + '\n');
      return EXIT.OK;
    }
    const { token, ...rest } = data;
    void token;
    if (ctx.json) json({ ...rest, file: path });
    else note(`wrote token ${data.jti} (kid ${data.kid}, sub ${data.subject}, expires ${new Date(data.expiresAt * 1000).toISOString()}) to ${path}`);
    return EXIT.OK;
  },
};

const listVerb: Verb = {
  usage: '[-dir <tokens.d> | -file <token file>]',
  summary: 'print the tokens in a token directory, exactly as condor_token_list does (offline)',
  details: `One line per token: Header: <json> Payload: <json> File: <path>, the JSON as decoded from the
token, verbatim. Without -dir: _CONDOR_SEC_TOKEN_DIRECTORY, else ~/.condor/tokens.d (root:
/etc/condor/tokens.d). Files are read in name order; names HTCondor's default
LOCAL_CONFIG_DIR_EXCLUDE_REGEXP hides (.x, x~, x.sh, ...) and lines that are not JWTs are skipped.`,
  offline: true,
  options: {
    dir: { type: 'string', help: '<dir>  the token directory' },
    file: { type: 'string', help: '<file>  one token file' },
  },
  async run(ctx) {
    if (ctx.args.length) throw usageError(`unexpected argument ${ctx.args[0]}`);
    const file = str(ctx.opts, 'file');
    const bytes = file !== undefined ? tokenFileLines(file) : tokenDirLines(str(ctx.opts, 'dir') ?? defaultTokenDir());
    if (!ctx.json) {
      process.stdout.write(bytes);
      return EXIT.OK;
    }
    const rows = bytes
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const m = /^Header: (.*) Payload: (.*) File: (.*)$/.exec(l)!;
        return { header: JSON.parse(m[1]), payload: JSON.parse(m[2]), file: m[3] };
      });
    json(rows);
    return EXIT.OK;
  },
};

interface Verdict {
  valid: boolean;
  reason?: string;
  site?: string;
  keyVersion?: number;
  claims?: Record<string, unknown>;
}

const verify: Verb = {
  usage: '<token> | -file <token file>',
  summary: 'check tokens as a collector would, and against the ledger (exit 5 when one is not valid)',
  details: 'With -file every token line of the file is checked (blank and # lines skipped).',
  options: { file: { type: 'string', help: '<file>  a token file (tokens.d format)' } },
  async run(ctx) {
    const file = str(ctx.opts, 'file');
    if ((file === undefined) === (ctx.args.length === 0) || ctx.args.length > 1) throw usageError('give one token, or -file <token file>');
    const tokens = file !== undefined ? tokensInFile(file) : [ctx.args[0]];
    if (!tokens.length) throw usageError(`${file} holds no token`);
    const verdicts: Verdict[] = [];
    for (const token of tokens) verdicts.push((await ctx.api().call<Verdict>('POST', '/tokens/verify', { token })).data);
    if (ctx.json) json(file !== undefined ? verdicts : verdicts[0]);
    else
      for (const v of verdicts) {
        if (v.valid)
          out(
            `valid: site ${v.site}, key version ${v.keyVersion}, sub ${v.claims?.sub}, jti ${v.claims?.jti}, expires ${new Date(Number(v.claims?.exp) * 1000).toISOString()}\n`,
          );
        else out(`not valid: ${v.reason}\n`);
      }
    return verdicts.every((v) => v.valid) ? EXIT.OK : EXIT.CHECK_FAILED;
  },
};

const revoke: Verb = {
  usage: '<jti>',
  summary: 'revoke one token by its jti',
  async run(ctx) {
    const [jti, extra] = ctx.args;
    if (!jti || extra) throw usageError('give one jti');
    const { data } = await ctx.api().call('POST', `/tokens/${encodeURIComponent(jti)}/revoke`, {});
    if (ctx.json) json(data);
    else note(`revoked token ${jti}; the collector's SEC_TOKEN_REVOCATION_EXPR: glidekey token revocations`);
    return EXIT.OK;
  },
};

/** Unix seconds from `1700000000` or an ISO 8601 date. */
function when(ctx: Context, name: string): number | undefined {
  const v = str(ctx.opts, name);
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v)) return Number(v);
  const ms = Date.parse(v);
  if (!/^\d{4}-\d\d-\d\d/.test(v) || Number.isNaN(ms)) throw usageError(`-${name} must be Unix seconds or an ISO 8601 date`);
  return Math.floor(ms / 1000);
}

const revokeSubject: Verb = {
  usage: '<subject> [-issued-before <unix seconds | ISO date>] [-keep-until <unix seconds | ISO date>]',
  summary: 'revoke every token of a sub issued at or before a time (default now), on every site',
  options: {
    'issued-before': { type: 'string', help: '<time>  revoke tokens issued at or before it (default now)' },
    'keep-until': { type: 'string', help: '<time>  the rule may leave the expression after it (default never)' },
  },
  async run(ctx) {
    const [subject, extra] = ctx.args;
    if (!subject || extra) throw usageError('give one subject');
    const body: Record<string, unknown> = { subject };
    const before = when(ctx, 'issued-before');
    const keep = when(ctx, 'keep-until');
    if (before !== undefined) body.issuedBefore = before;
    if (keep !== undefined) body.keepUntil = keep;
    const { data } = await ctx.api().call('POST', '/revocations/subjects', body);
    if (ctx.json) json(data);
    else out(keyValues(data as Record<string, unknown>));
    return EXIT.OK;
  },
};

const revocations: Verb = {
  usage: '',
  summary: "print the collector's SEC_TOKEN_REVOCATION_EXPR value",
  async run(ctx) {
    const { body } = await ctx.api().call('GET', '/revocations/condor');
    if (ctx.json) json({ expr: body.toString('utf8').trimEnd() });
    else process.stdout.write(body);
    return EXIT.OK;
  },
};

export const tokenNoun: Noun = {
  summary: 'IDTOKENs: create, list token files, verify, revoke',
  verbs: { create, list: listVerb, verify, revoke, 'revoke-subject': revokeSubject, revocations },
};

interface LedgerRow {
  jti: string;
  site: string;
  kid: string;
  subject: string;
  scopes: string[];
  issuedAt: string;
  expiresAt: string;
  state: string;
}

const ledgerList: Verb = {
  usage: '[-site <site>] [-state active|expired|revoked|retired] [-limit <n>] [-cursor <next>]',
  summary: 'the ledger of minted tokens, newest first (never the tokens)',
  details: 'When there are more, the cursor of the next page is printed on stderr (in --json: "next").',
  options: {
    site: { type: 'string', help: '<site>  only this site' },
    state: { type: 'string', help: '<state>  active, expired, revoked or retired' },
    limit: { type: 'string', help: '<n>  at most n rows (1-1000, default 100)' },
    cursor: { type: 'string', help: '<next>  the page after a previous one' },
  },
  async run(ctx) {
    if (ctx.args.length) throw usageError(`unexpected argument ${ctx.args[0]}`);
    const q = new URLSearchParams();
    for (const k of ['site', 'state', 'cursor']) if (str(ctx.opts, k) !== undefined) q.set(k, str(ctx.opts, k)!);
    const limit = intOption(ctx.opts, 'limit', 1);
    if (limit !== undefined) q.set('limit', String(limit));
    const { data } = await ctx.api().call<{ tokens: LedgerRow[]; next: string | null }>('GET', `/tokens${q.size ? `?${q}` : ''}`);
    if (ctx.json) {
      json(data);
      return EXIT.OK;
    }
    out(
      table(data.tokens, [
        ['jti', (t) => t.jti],
        ['site', (t) => t.site],
        ['kid', (t) => t.kid],
        ['subject', (t) => t.subject],
        ['state', (t) => t.state],
        ['issued', (t) => t.issuedAt],
        ['expires', (t) => t.expiresAt],
        ['scopes', (t) => t.scopes],
      ]),
    );
    if (data.next) note(`more: glidekey ledger -cursor ${data.next}`);
    return EXIT.OK;
  },
};

/** `glidekey ledger` is a verb-less noun: its one verb runs under the noun's name. */
export const ledgerNoun: Noun = { summary: 'the ledger of minted tokens (GET /tokens)', verbs: { '': ledgerList } };
