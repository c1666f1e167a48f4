import { GLOBAL_OPTIONS, OptionSpecs, parseArgs } from './args.js';
import { Context, Noun, Verb } from './command.js';
import { configNoun } from './config.commands.js';
import { CliError, EXIT, usageError } from './exit-codes.js';
import { RestClient } from './http-client.js';
import { frontendNoun } from './frontend.commands.js';
import { entryNoun, factoryNoun } from './registration.commands.js';
import { issuerNoun, scitokenNoun } from './scitoken.commands.js';
import { siteNoun } from './site.commands.js';
import { ledgerNoun, tokenNoun } from './token.commands.js';

export const NOUNS: Record<string, Noun> = {
  token: tokenNoun,
  ledger: ledgerNoun,
  site: siteNoun,
  factory: factoryNoun,
  frontend: frontendNoun,
  entry: entryNoun,
  scitoken: scitokenNoun,
  issuer: issuerNoun,
  config: configNoun,
};

const EXIT_HELP = `exit codes: 0 ok; 1 local problem (key file, a file to read or write); 2 usage;
  3 refused by the service (4xx, its code printed); 4 service failed or unreachable (5xx, connection, TLS);
  5 check failed (token verify: not valid; config check: invalid setting)`;

const CONNECTION_HELP = `connection: GLIDEKEY_URL (or --url; default http://127.0.0.1:8080), GLIDEKEY_API_KEY_FILE
  (or --api-key-file; a 0600 file, the key is never taken on the command line), GLIDEKEY_CA (or --ca).
options take one dash as in HTCondor's tools (-identity) or two (--identity, --identity=x).`;

function overview(): string {
  const lines = ['usage: glidekey <noun> <verb> [options]   (glidekey <noun> <verb> --help for each)', ''];
  for (const [name, noun] of Object.entries(NOUNS)) {
    lines.push(`${name.padEnd(9)} ${noun.summary}`);
    for (const [v, verb] of Object.entries(noun.verbs)) lines.push(`  ${`${name}${v ? ' ' + v : ''}`.padEnd(22)} ${verb.summary}`);
  }
  lines.push('', 'host verbs (on the service host, on its database directly; see README):');
  lines.push(
    `  ${'apikey create|list|revoke'.padEnd(22)} API keys, for bootstrap`,
    `  ${'backup DEST'.padEnd(22)} consistent SQLite copy`,
    `  ${'prune --archive FILE'.padEnd(22)} archive, then delete old ledger rows and audit lines`,
  );
  lines.push('', CONNECTION_HELP, EXIT_HELP);
  return lines.join('\n') + '\n';
}

function nounHelp(name: string, noun: Noun): string {
  const lines = [`usage: glidekey ${name} <verb> [options]   (${noun.summary})`, ''];
  for (const [v, verb] of Object.entries(noun.verbs)) lines.push(`  glidekey ${name} ${v} ${verb.usage}`.trimEnd(), `      ${verb.summary}`);
  return lines.join('\n') + '\n';
}

function optionLines(specs: OptionSpecs): string[] {
  return Object.entries(specs).map(([k, s]) => {
    const [arg, ...rest] = s.help.split('  ');
    return s.type === 'boolean' ? `  -${k.padEnd(28)} ${s.help}` : `  -${`${k} ${arg}`.padEnd(28)} ${rest.join('  ')}`;
  });
}

function verbHelp(name: string, verbName: string, verb: Verb): string {
  const lines = [`usage: glidekey ${name}${verbName ? ' ' + verbName : ''} ${verb.usage}`.trimEnd(), '', verb.summary];
  if (verb.details) lines.push('', verb.details);
  if (verb.options && Object.keys(verb.options).length) lines.push('', 'options:', ...optionLines(verb.options));
  lines.push(
    '',
    verb.offline ? 'common options:' : 'common options (connection):',
    ...optionLines(verb.offline ? { json: GLOBAL_OPTIONS.json, help: GLOBAL_OPTIONS.help } : GLOBAL_OPTIONS),
  );
  lines.push('', EXIT_HELP);
  return lines.join('\n') + '\n';
}

/** The REST (and offline) verbs: `glidekey <noun> <verb> ...`. Returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`glidekey: ${err.message}\n`);
      if (err.exit === EXIT.USAGE) process.stderr.write('(glidekey --help for usage)\n');
      return err.exit;
    }
    process.stderr.write(`glidekey: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.LOCAL;
  }
}

async function dispatch(argv: string[]): Promise<number> {
  const [nounName, ...rest] = argv;
  if (nounName === undefined) {
    process.stderr.write(overview());
    return EXIT.USAGE;
  }
  if (['--help', '-help', '-h', 'help'].includes(nounName)) {
    process.stdout.write(overview());
    return EXIT.OK;
  }
  const noun = NOUNS[nounName];
  if (!noun) throw usageError(`unknown command ${nounName}`);
  let verbName = '';
  let verbArgs = rest;
  if (!noun.verbs['']) {
    verbName = rest[0] ?? '';
    verbArgs = rest.slice(1);
    if (['--help', '-help', '-h', 'help', ''].includes(verbName)) {
      (verbName ? process.stdout : process.stderr).write(nounHelp(nounName, noun));
      return verbName ? EXIT.OK : EXIT.USAGE;
    }
  }
  const verb = noun.verbs[verbName];
  if (!verb) throw usageError(`unknown verb ${nounName} ${verbName}`);
  const { opts, args } = parseArgs(verbArgs, { ...GLOBAL_OPTIONS, ...verb.options });
  if (opts.help) {
    process.stdout.write(verbHelp(nounName, verbName, verb));
    return EXIT.OK;
  }
  let client: RestClient | undefined;
  const ctx: Context = {
    opts,
    args,
    json: opts.json === true,
    api: () =>
      (client ??= new RestClient({
        url: (opts.url as string | undefined) ?? process.env.GLIDEKEY_URL ?? 'http://127.0.0.1:8080',
        apiKeyFile: (opts['api-key-file'] as string | undefined) ?? (process.env.GLIDEKEY_API_KEY_FILE || undefined),
        ca: (opts.ca as string | undefined) ?? (process.env.GLIDEKEY_CA || undefined),
      })),
  };
  return verb.run(ctx);
}
