// `npm run bench`: the in-process mint benchmark, then the HTTP one; a summary table; and the
// figures in bench/results/latest.json. Exits non-zero if a benchmark fails (e.g. the service
// does not start).
import { cpus } from 'node:os';
import { runInProcess } from './mint-inprocess.js';
import { runHttp } from './mint-http.js';
import { runTicketsFetch } from './tickets-fetch.js';
import { RESULTS_FILE, fmtInt, fmtMs, fmtRatio, writeResults } from './util.js';

const started = Date.now();
const results = {
  at: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
};

try {
  console.log(`glidekey mint benchmark (node ${process.version}, ${results.cpus} CPUs)\n`);
  console.log('[1/3] in-process: TokensService.mint vs raw jose HS256 ...');
  results.inProcess = await runInProcess();
  console.log('\n[2/3] HTTP: POST /api/v1/sites/bench-site/tokens (autocannon) vs bare node:http + jose ...');
  results.http = await runHttp();
  console.log('\n[3/3] glidein bootstrap: POST /api/v1/glidein/credentials, one distinct ticket per request, vs GET /healthz ...');
  results.ticketsFetch = await runTicketsFetch();
} catch (err) {
  if (!err.reported) console.error('benchmark failed:', err);
  results.error = String(err.message ?? err);
  writeResults(results);
  process.exit(1);
}
results.elapsedSeconds = +((Date.now() - started) / 1000).toFixed(1);
writeResults(results);

const ip = results.inProcess;
const h = results.http;
const tf = results.ticketsFetch;
const rows = [
  ['benchmark', 'service tok/s', 'baseline tok/s', 'ratio', 'p50 ms', 'p99 ms'],
  [
    'in-process sequential',
    fmtInt(ip.sequential.service.tokensPerSecond),
    fmtInt(ip.sequential.baseline.tokensPerSecond),
    fmtRatio(ip.sequential.ratio),
    fmtMs(ip.sequential.service.p50Ms),
    fmtMs(ip.sequential.service.p99Ms),
  ],
  [
    `in-process ${ip.concurrent.concurrency}-way`,
    fmtInt(ip.concurrent.service.tokensPerSecond),
    fmtInt(ip.concurrent.baseline.tokensPerSecond),
    fmtRatio(ip.concurrent.ratio),
    fmtMs(ip.concurrent.service.p50Ms),
    fmtMs(ip.concurrent.service.p99Ms),
  ],
  ...(ip.gwms.skipped
    ? []
    : [
        [
          `in-process ${ip.gwms.concurrency}-way vs GWMS python (durable ledger)`,
          fmtInt(ip.gwms.serviceTokensPerSecond),
          fmtInt(ip.gwms.baseline.tokensPerSecond),
          fmtRatio(ip.gwms.ratio),
          fmtMs(ip.concurrent.service.p50Ms),
          fmtMs(ip.concurrent.service.p99Ms),
        ],
      ]),
  [
    `HTTP ${h.connections} conns`,
    fmtInt(h.service.requestsPerSecond),
    fmtInt(h.baseline.requestsPerSecond),
    fmtRatio(h.ratio),
    fmtMs(h.service.p50Ms),
    fmtMs(h.service.p99Ms),
  ],
  [
    `ticket fetch ${tf.connections} conns (baseline /healthz)`,
    fmtInt(tf.service.requestsPerSecond),
    fmtInt(tf.baseline.requestsPerSecond),
    fmtRatio(tf.ratio),
    fmtMs(tf.service.p50Ms),
    fmtMs(tf.service.p99Ms),
  ],
];
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log('\nSummary');
console.log(line(rows[0]));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows.slice(1)) console.log(line(r));
console.log(
  `\nHTTP goals (>= ${fmtInt(h.goals.minTokensPerSecond)} tokens/s, p99 < ${h.goals.maxP99Ms} ms, no non-2xx): ${h.goals.met ? 'MET' : 'NOT MET'}` +
    ` (${fmtInt(h.service.requestsPerSecond)} tokens/s, p99 ${fmtMs(h.service.p99Ms)} ms, non2xx ${h.service.non2xx}, errors ${h.service.errors})`,
);
console.log(`results: ${RESULTS_FILE} (${results.elapsedSeconds} s)`);
