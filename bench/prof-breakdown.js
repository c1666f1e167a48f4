// Where a mint's time goes: splits a .cpuprofile (node --cpu-prof of the service under the HTTP
// mint benchmark) into the pipeline's parts. Each sample goes to the innermost frame on its stack
// that belongs to a part (so the guard's own database read counts as the guard, the ledger's
// TypeORM and SQLite calls as the ledger); samples in no part go to what runs them (Fastify/Nest,
// node's HTTP and sockets, GC). Percentages are of the busy (non-idle) time.
// Usage: node bench/prof-breakdown.js <file.cpuprofile>
import { readFileSync } from 'node:fs';

const [file] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/prof-breakdown.js <file.cpuprofile>');
  process.exit(2);
}

/** [part, test(frame)]; a frame is { fn, url }. Listed from the most specific. */
const PARTS = [
  // better-sqlite3 is synchronous: the COMMIT's fsync blocks the thread and is sampled as `exec`.
  ['SQLite BEGIN/COMMIT (the fsync blocks the thread)', (f) => f.fn === 'exec' && /better-sqlite3\//.test(f.url)],
  ['SQLite statements (inserts, selects, prepare, checkpoint)', (f) => /^(run|all|get|prepare|pragma)$/.test(f.fn) && /better-sqlite3\//.test(f.url)],
  ['HKDF / derived-key cache', (f) => /\/sites\/site-keys\.service\.js$/.test(f.url) || /\/crypto\/condor-key\.js$/.test(f.url)],
  ['jose / HS256 signing', (f) => /node_modules\/jose\//.test(f.url) || (/\/crypto\/idtoken\.js$/.test(f.url) && /sign|Payload|Header/i.test(f.fn))],
  [
    'ledger group commit (its JS: batching, TypeORM query runner)',
    (f) =>
      /\/tokens\/ledger-writer\.js$/.test(f.url) ||
      /\/database\/(group-commit|bulk-insert)\.js$/.test(f.url) ||
      (/\/database\/db\.js$/.test(f.url) && /tx|sqliteTx|exclusive|planCheckpoint|checkpoint/.test(f.fn)),
  ],
  ['audit line (credential-shape checks)', (f) => /\/audit\/audit\.service\.js$/.test(f.url) || /\/common\/secret-shape\.js$/.test(f.url)],
  ['policy / site lookup', (f) => /\/sites\/(sites\.service|scopes)\.js$/.test(f.url)],
  ['TokensService.mint (claims, rest)', (f) => /\/tokens\/tokens\.service\.js$/.test(f.url)],
  ['guard (API-key auth)', (f) => /\/auth\/(auth\.guard|api-keys\.service|api-key\.secret)\.js$/.test(f.url)],
  [
    'DTO validation (class-validator/transformer, pipe)',
    (f) =>
      /node_modules\/(class-validator|class-transformer|validator)\//.test(f.url) ||
      /\/common\/validation\.js$/.test(f.url) ||
      /\/tokens\/dto\//.test(f.url) ||
      /\/sites\/site-name\.js$/.test(f.url) ||
      /validation\.pipe\.js$/.test(f.url),
  ],
  ['logging (pino, http hooks)', (f) => /node_modules\/(pino|pino-std-serializers|sonic-boom|fast-redact|@pinojs)\//.test(f.url) || /\/logging\//.test(f.url)],
  ['metrics (prom-client)', (f) => /node_modules\/prom-client\//.test(f.url)],
  [
    'interceptors (request context, audit failures, pacing, rxjs)',
    (f) =>
      /\/(common\/request-context\.interceptor|audit\/audit-failures\.interceptor|common\/read-pacer)\.js$/.test(f.url) || /node_modules\/rxjs\//.test(f.url),
  ],
  [
    'body parse (JSON, depth check)',
    (f) =>
      /\/common\/json-depth\.js$/.test(f.url) || /\/bootstrap\.js$/.test(f.url) || /secure-json-parse/.test(f.url) || /content-type-parser\.js$/.test(f.url),
  ],
  ['JSON serialisation (reply)', (f) => /fast-json-stringify/.test(f.url) || (/fastify\/lib\/reply\.js$/.test(f.url) && /serialize/i.test(f.fn))],
  ['exception filter', (f) => /\/common\/exception\.filter\.js$/.test(f.url)],
];

/** Where samples outside every part are counted. */
function runner(f) {
  if (/node_modules\/@nestjs\//.test(f.url)) return 'Nest routing / execution context';
  if (/node_modules\/(fastify|find-my-way|avvio|light-my-request|@fastify)\//.test(f.url)) return 'Fastify routing / reply';
  if (/node_modules\/typeorm\//.test(f.url) || /better-sqlite3/.test(f.url)) return 'TypeORM query runner + SQLite statement execution (the ledger)';
  if (/^node:/.test(f.url)) return 'node core (http, net, streams, timers)';
  if (f.fn === '(garbage collector)') return 'GC';
  if (f.fn === '(program)') return '(program: native, unattributed)';
  if (f.url)
    return `other JS (${f.url
      .replace(/^file:\/\//, '')
      .replace(/^.*node_modules\//, '')
      .replace(/^.*\/dist\//, 'dist/')
      .split('/')
      .slice(0, 2)
      .join('/')})`;
  return `native (${f.fn})`;
}

const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const frame = (n) => ({ fn: n.callFrame.functionName, url: n.callFrame.url });

const partOf = new Map();
function classify(id) {
  if (partOf.has(id)) return partOf.get(id);
  const leaf = frame(byId.get(id));
  if (leaf.fn === '(idle)') return partOf.set(id, null).get(id);
  // Walk leaf → root; the first frame in a part names the sample.
  let part;
  let firstRunner;
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const f = frame(byId.get(cur));
    const hit = PARTS.find(([, t]) => t(f));
    if (hit) {
      part = hit[0];
      break;
    }
    if (!firstRunner && f.url) firstRunner = runner(f);
  }
  part ??= firstRunner ?? runner(leaf);
  partOf.set(id, part);
  return part;
}

// Start-up (module loading, migrations, Nest's wiring) is not a mint's: count from the first
// sample taken inside TokensService.
const inMint = (id) => {
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) if (/\/tokens\/tokens\.service\.js$/.test(byId.get(cur).callFrame.url)) return true;
  return false;
};
const start = prof.samples.findIndex(inMint);
const totals = new Map();
let busy = 0;
let idle = 0;
for (let i = Math.max(0, start); i < prof.samples.length; i++) {
  const us = prof.timeDeltas[i] ?? 0;
  const part = classify(prof.samples[i]);
  if (part === null) {
    idle += us;
    continue;
  }
  busy += us;
  totals.set(part, (totals.get(part) ?? 0) + us);
}
console.log(`busy ${(busy / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s (${file})`);
for (const [k, us] of [...totals].sort((a, b) => b[1] - a[1])) {
  console.log(`${((100 * us) / busy).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
}
