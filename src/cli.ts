/**
 * The `glidekey` command. The host verbs (apikey, backup, prune) open the database directly, for
 * bootstrap; every other verb talks to a running service over REST (src/cli/). Each side is
 * loaded only when used: the REST verbs start without loading NestJS.
 */
const HOST_VERBS = ['apikey', 'backup', 'prune'];

const argv = process.argv.slice(2);
const host = HOST_VERBS.includes(argv[0] ?? '');
const code = host ? await (await import('./cli/host.js')).runHost(argv) : await (await import('./cli/main.js')).runCli(argv);
// The host verbs leave database pools and timers behind; the REST verbs let stdout drain first.
if (host) process.exit(code);
process.exitCode = code;
