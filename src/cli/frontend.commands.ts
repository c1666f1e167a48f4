import { writeFileAtomic } from '../common/atomic-file.js';
import { required, str } from './args.js';
import { Context, Noun, Verb } from './command.js';
import { EXIT, localError, usageError } from './exit-codes.js';
import { json, keyValues, note, out } from './output.js';
import { deleteVerb, enc, listVerb, oneArg } from './simple-verbs.js';

interface FrontendView {
  name: string;
  fingerprint: string;
  apiKeyId: string;
  localUser: string;
  createdAt: string;
}

/** Shows a frontend and the API key it was just given: into -key-out (0600), or once on stdout. */
function printWithKey(ctx: Context, data: FrontendView & { apiKey: string }, what: string, undo: string): number {
  const { apiKey, ...view } = data;
  const file = str(ctx.opts, 'key-out');
  if (file !== undefined) {
    try {
      writeFileAtomic(file, apiKey + '\n', 0o600);
    } catch (err) {
      throw localError(`the frontend is ${what}, but its API key could not be written to ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}): ${undo}`);
    }
    if (ctx.json) json({ ...view, apiKeyFile: file });
    else note(`${what} frontend ${view.name} (fingerprint ${view.fingerprint}); its API key is in ${file}`);
  } else if (ctx.json) json(data);
  else {
    note(`${what} frontend ${view.name} (fingerprint ${view.fingerprint}); its API key follows and is not shown again:`);
    out(apiKey + '\n');
  }
  return EXIT.OK;
}

const registerFrontend: Verb = {
  usage: '<name> -public-key <base64> [-local-user <user>] [-key-out <file>]',
  summary: 'register a frontend whose envelopes this factory accepts; its API key is shown once',
  details: 'The new API key (role frontend) goes to -key-out (mode 0600), or to stdout.',
  options: {
    'public-key': { type: 'string', help: "<base64>  the frontend's X25519 key (its GET /frontend/identity)" },
    'key-out': { type: 'string', help: '<file>  write the new API key here, mode 0600' },
    'local-user': { type: 'string', help: '<user>  the local user GlideinWMS maps its security class to (cache files under user_<user>/); default the name' },
  },
  async run(ctx) {
    const name = oneArg(ctx, 'frontend name');
    const localUser = str(ctx.opts, 'local-user');
    const { data } = await ctx.api().call<FrontendView & { apiKey: string }>('POST', '/factory/frontends', {
      name,
      publicKey: required(ctx.opts, 'public-key'),
      ...(localUser !== undefined ? { localUser } : {}),
    });
    return printWithKey(ctx, data, 'registered', 'revoke it (apikey revoke) and register again');
  },
};

const updateFrontend: Verb = {
  usage: '<name> [-public-key <base64>] [-rotate-api-key [-key-out <file>]]',
  summary: "re-pin a frontend's public key (out of band) and/or rotate its API key",
  details:
    'With -public-key, envelopes sealed with its old key are refused from now on. With -rotate-api-key its old API key stops working at once and the new one goes to -key-out (mode 0600), or to stdout, shown once.',
  options: {
    'public-key': { type: 'string', help: "<base64>  the frontend's new X25519 key (its GET /frontend/identity)" },
    'rotate-api-key': { type: 'boolean', help: 'give it a new API key; the old one is revoked' },
    'key-out': { type: 'string', help: '<file>  write the new API key here, mode 0600' },
  },
  async run(ctx) {
    const name = oneArg(ctx, 'frontend name');
    const body: Record<string, unknown> = {};
    if (str(ctx.opts, 'public-key') !== undefined) body.publicKey = str(ctx.opts, 'public-key');
    if (ctx.opts['rotate-api-key']) body.rotateApiKey = true;
    if (!Object.keys(body).length) throw usageError('give -public-key or -rotate-api-key');
    if (str(ctx.opts, 'key-out') !== undefined && !body.rotateApiKey) throw usageError('-key-out goes with -rotate-api-key');
    const { data } = await ctx.api().call<FrontendView & { apiKey?: string }>('PATCH', `/factory/frontends/${enc(name)}`, body);
    if (data.apiKey !== undefined)
      return printWithKey(ctx, data as FrontendView & { apiKey: string }, 'updated', 'rotate it again (frontend update -rotate-api-key)');
    if (ctx.json) json(data);
    else out(keyValues(data as unknown as Record<string, unknown>));
    return EXIT.OK;
  },
};

export const frontendNoun: Noun = {
  summary: 'frontends this factory accepts credentials from (factory role)',
  verbs: {
    list: listVerb<FrontendView>('registered frontends and their fingerprints', '/factory/frontends', [
      ['name', (f) => f.name],
      ['fingerprint', (f) => f.fingerprint],
      ['api key', (f) => f.apiKeyId],
      ['local user', (f) => f.localUser],
      ['created', (f) => f.createdAt],
    ]),
    register: registerFrontend,
    update: updateFrontend,
    delete: deleteVerb(
      'forget a frontend: its API key, cached credentials and their files, tickets and renewals',
      'frontend',
      (n) => `/factory/frontends/${enc(n)}`,
    ),
  },
};
