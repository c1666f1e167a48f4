// In-process mint benchmark: TokensService.mint (site lookup, cached HKDF key, jose HS256,
// ledger + audit insert in one SQLite transaction) against raw jose HS256 signing of the same claims.
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  BASE_CLAIMS,
  PROJECT_ROOT,
  SITE,
  TRUST_DOMAIN,
  FRONTEND_NAME,
  baselineKey,
  baselineSign,
  discard,
  fmtInt,
  fmtMs,
  fmtRatio,
  isMain,
  percentile,
  runConcurrent,
  runSequential,
} from './util.js';

const dist = (p) => pathToFileURL(resolve(PROJECT_ROOT, 'dist', p)).href;

export const DEFAULTS = {
  warmup: 200,
  sequential: 3000,
  concurrentTotal: 5000,
  concurrency: 32,
  // Hard time caps per measured loop: the run stays bounded even on a slow disk (SQLite FULL sync).
  maxMsService: 15_000,
  maxMsBaseline: 10_000,
  gwmsCount: 5000,
};

const PY = '/usr/bin/python3';

/**
 * The GlideinWMS-equivalent baseline (bench/gwms_baseline.py on Debian's python3-jwt): per token,
 * read the scrambled key file, unscramble, HKDF, PyJWT HS256, the same header and claims.
 * Python mints one at a time (GlideinWMS's frontend does too). Undefined, with a reason, without PyJWT.
 */
function runGwmsBaseline(dir, count) {
  const keyFile = join(dir, SITE);
  writeFileSync(
    keyFile,
    randomBytes(64).map((b, i) => b ^ [0xde, 0xad, 0xbe, 0xef][i % 4]),
    { mode: 0o600 },
  );
  const script = resolve(PROJECT_ROOT, 'bench', 'gwms_baseline.py');
  const r = spawnSync(PY, [script, 'bench', keyFile, SITE, BASE_CLAIMS.iss, BASE_CLAIMS.sub, BASE_CLAIMS.scope, String(BASE_CLAIMS.lifetime), String(count)], {
    encoding: 'utf8',
  });
  if (r.status !== 0)
    return { skipped: `${PY} bench/gwms_baseline.py failed (python3-jwt installed?): ${(r.error?.message ?? r.stderr).trim().split('\n').pop()}` };
  return JSON.parse(r.stdout);
}

function summarize(r) {
  return {
    ops: r.ops,
    seconds: +r.seconds.toFixed(3),
    tokensPerSecond: +r.rate.toFixed(1),
    p50Ms: +percentile(r.latenciesMs, 50).toFixed(3),
    p99Ms: +percentile(r.latenciesMs, 99).toFixed(3),
  };
}

export async function runInProcess(opts = {}) {
  const o = { ...DEFAULTS, ...opts };
  const [{ createApp }, { loadConfig }, { TokensService }, { SitesService }] = await Promise.all([
    import(dist('bootstrap.js')),
    import(dist('config/config.loader.js')),
    import(dist('tokens/tokens.service.js')),
    import(dist('sites/sites.service.js')),
  ]);

  const dataDir = mkdtempSync(join(tmpdir(), 'glidekey-bench-inproc-'));
  let app;
  try {
    const config = loadConfig({
      GLIDEKEY_DATA_DIR: dataDir,
      GLIDEKEY_TRUST_DOMAIN: TRUST_DOMAIN,
      GLIDEKEY_FRONTEND_NAME: FRONTEND_NAME,
      GLIDEKEY_LOG_LEVEL: 'warn',
    });
    app = await createApp(config, { logDestination: discard() });
    await app.init();
    const tokens = app.get(TokensService);
    const sites = app.get(SitesService);
    await sites.create({ name: SITE, issuer: TRUST_DOMAIN });

    // Sanity: the service's token carries the same claims the baseline signs.
    const first = await tokens.mint(SITE, {});
    const claims = JSON.parse(Buffer.from(first.token.split('.')[1], 'base64url').toString());
    if (
      claims.sub !== BASE_CLAIMS.sub ||
      claims.iss !== BASE_CLAIMS.iss ||
      claims.scope !== BASE_CLAIMS.scope ||
      claims.exp - claims.iat !== BASE_CLAIMS.lifetime
    ) {
      console.warn(`warning: service claims differ from the baseline's: ${JSON.stringify(claims)}`);
    }

    const mint = () => tokens.mint(SITE, {});
    for (let i = 0; i < o.warmup; i++) await mint();
    const svcSeq = await runSequential(mint, o.sequential, o.maxMsService);
    const cpu0 = process.cpuUsage();
    const svcConc = await runConcurrent(mint, o.concurrentTotal, o.concurrency, o.maxMsService);
    const cpu = process.cpuUsage(cpu0);
    // CPU per mint (user + system of this process; waits for the disk are not CPU).
    const cpuMsPerMint = +((cpu.user + cpu.system) / 1000 / svcConc.ops).toFixed(3);

    const key = await baselineKey();
    const sign = () => baselineSign(key);
    for (let i = 0; i < o.warmup; i++) await sign();
    const baseSeq = await runSequential(sign, o.sequential, o.maxMsBaseline);
    const baseConc = await runConcurrent(sign, o.concurrentTotal, o.concurrency, o.maxMsBaseline);

    const gwms = runGwmsBaseline(dataDir, o.gwmsCount);

    const result = {
      sequential: { service: summarize(svcSeq), baseline: summarize(baseSeq), ratio: +(svcSeq.rate / baseSeq.rate).toFixed(4) },
      concurrent: {
        concurrency: o.concurrency,
        service: { ...summarize(svcConc), cpuMsPerMint },
        baseline: summarize(baseConc),
        ratio: +(svcConc.rate / baseConc.rate).toFixed(4),
      },
      // The goal: the 32-way mint with its durable ledger at least 1.0x GlideinWMS's own minting.
      gwms: gwms.skipped
        ? gwms
        : {
            baseline: gwms,
            concurrency: o.concurrency,
            serviceTokensPerSecond: summarize(svcConc).tokensPerSecond,
            ratio: +(svcConc.rate / gwms.tokensPerSecond).toFixed(4),
          },
    };

    const s = result.sequential;
    const c = result.concurrent;
    console.log(
      `mint in-process sequential: ${fmtInt(s.service.tokensPerSecond)} tokens/s (jose baseline ${fmtInt(s.baseline.tokensPerSecond)}/s, ratio ${fmtRatio(s.ratio)})` +
        ` | per-mint p50 ${fmtMs(s.service.p50Ms)} ms, p99 ${fmtMs(s.service.p99Ms)} ms (${fmtInt(s.service.ops)} mints)`,
    );
    console.log(
      `mint in-process ${c.concurrency}-way concurrent: ${fmtInt(c.service.tokensPerSecond)} tokens/s (jose baseline ${fmtInt(c.baseline.tokensPerSecond)}/s, ratio ${fmtRatio(c.ratio)})` +
        ` | ${fmtInt(c.service.ops)} mints, CPU ${fmtMs(c.service.cpuMsPerMint)} ms/mint`,
    );
    const g = result.gwms;
    console.log(
      g.skipped
        ? `mint in-process ${c.concurrency}-way vs GlideinWMS-equivalent baseline: skipped (${g.skipped})`
        : `mint in-process ${c.concurrency}-way, durable ledger: ${fmtInt(g.serviceTokensPerSecond)} tokens/s (GlideinWMS-equivalent python3 + PyJWT ${g.baseline.pyjwt} ${fmtInt(g.baseline.tokensPerSecond)}/s, p50 ${fmtMs(g.baseline.p50Ms)} ms, ratio ${fmtRatio(g.ratio)})`,
    );
    if (s.service.ops < o.sequential || c.service.ops < o.concurrentTotal) {
      console.log(`  note: a loop hit its ${o.maxMsService / 1000} s cap before its count; rates are over the mints done`);
    }
    return result;
  } finally {
    if (app) await app.close().catch((err) => console.error('app.close failed:', err));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  // Run alone it only prints; bench/run.js writes bench/results/latest.json.
  runInProcess().catch((err) => {
    console.error('in-process benchmark failed:', err);
    process.exitCode = 1;
  });
}
