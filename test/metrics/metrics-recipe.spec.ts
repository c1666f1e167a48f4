import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * One recipe for Prometheus metrics (issue 16), kept by a scan of src/: each capability declares all
 * of its metrics in one `src/<cap>/<cap>.metrics.ts`, an injectable `<Cap>Metrics` on the shared
 * registry (`registers: [metrics.registry]`); counters and gauges that services set are its
 * readonly fields, assigned in its constructor; gauges read at scrape time are declared in its
 * onModuleInit, those reading the database or a service through `metrics.cached()`. Services use
 * those fields and methods and never touch prom-client or the registry. src/metrics/ is the shared
 * infrastructure only: the registry (with the process defaults), its cached rendering for
 * GET /metrics, `cached()`.
 */
const SRC = join(import.meta.dirname, '..', '..', 'src');

const METRIC = /\bnew\s+(Counter|Gauge|Histogram|Summary)\s*(<[^>]*>)?\s*\(/g;

/** The text of a call's arguments, from the `(` at `open` to its matching `)`. */
function argsAt(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return text.slice(open, i + 1);
  }
  return text.slice(open);
}

/** What breaks the recipe in these source files (paths relative to src/, specs left out). */
function recipeFindings(files: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [rel, text] of Object.entries(files)) {
    const [dir, ...rest] = rel.split('/');
    const base = rest.join('/');
    const isMetricsFile = rel.endsWith('.metrics.ts');
    const isInfra = dir === 'metrics';
    if (isMetricsFile && (isInfra || base !== `${dir}.metrics.ts`))
      found.push(`${rel}: a capability's metrics file is src/<cap>/<cap>.metrics.ts, one per folder`);
    const usesPromClient = /from\s+['"]prom-client['"]|import\(\s*['"]prom-client['"]\s*\)|require\(\s*['"]prom-client['"]\s*\)/.test(text);
    if (usesPromClient && !isMetricsFile && !isInfra) found.push(`${rel}: uses prom-client outside a <cap>.metrics.ts`);
    for (const m of text.matchAll(METRIC)) {
      const line = text.slice(0, m.index).split('\n').length;
      if (isInfra) found.push(`${rel}:${line}: declares a ${m[1]} in the shared metrics infrastructure`);
      else if (!isMetricsFile) found.push(`${rel}:${line}: declares a ${m[1]} outside a <cap>.metrics.ts`);
      // Every metric on the shared registry, none on prom-client's global one.
      else if (!/\bregisters\b/.test(argsAt(text, m.index + m[0].length - 1))) found.push(`${rel}:${line}: a ${m[1]} without registers (the global registry)`);
    }
    if (!isMetricsFile && !isInfra && /\bmetrics\.registry\b/.test(text)) found.push(`${rel}: reaches the metrics registry outside a <cap>.metrics.ts`);
    if (isMetricsFile && !/@Injectable\(\)\s*export class \w+Metrics\b/.test(text)) found.push(`${rel}: declares no injectable <Cap>Metrics class`);
  }
  return found;
}

function sources(dir: string, rel = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) Object.assign(out, sources(join(dir, d.name), r));
    else if (d.name.endsWith('.ts') && !d.name.endsWith('.spec.ts')) out[r] = readFileSync(join(dir, d.name), 'utf8');
  }
  return out;
}

describe('one recipe for metrics: src/<cap>/<cap>.metrics.ts', () => {
  it('src/ follows it', () => {
    const files = sources(SRC);
    expect(recipeFindings(files)).toEqual([]);
    // The scan sees the metrics it guards (a vacuous pass would prove nothing).
    const declared = Object.entries(files).flatMap(([rel, text]) => [...text.matchAll(METRIC)].map(() => rel));
    expect(declared.length).toBeGreaterThan(30);
    expect(new Set(declared).size).toBeGreaterThan(10);
  });

  it('finds a metric declared in a service, in src/metrics/, off the shared registry, or in a second file of a folder', () => {
    const counter = (registers: string) =>
      `import { Counter } from 'prom-client';\nexport const c = new Counter({\n  name: 'x_total',\n  help: 'x (by y)',${registers}\n});\n`;
    expect(
      recipeFindings({
        'tokens/tokens.metrics.ts': `import { Injectable } from '@nestjs/common';\n@Injectable()\nexport class TokensMetrics {}\n${counter(' registers: [metrics.registry],')}`,
        'tokens/tokens.service.ts': `${counter(' registers: [this.metrics.registry],')}`,
        'tokens/revocation.metrics.ts': `@Injectable()\nexport class RevocationMetrics {}\n${counter('')}`,
        'metrics/metrics.service.ts': `import { Registry } from 'prom-client';\nexport const r = new Registry();\nexport const g = new Gauge({ name: 'g', help: 'g', registers: [r] });\n`,
        'forwarding/deliverer.service.ts': "import { Gauge } from 'prom-client';\n",
        'sites/sites.metrics.ts': 'export const none = 1;\n',
      }),
    ).toEqual([
      'tokens/tokens.service.ts: uses prom-client outside a <cap>.metrics.ts',
      'tokens/tokens.service.ts:2: declares a Counter outside a <cap>.metrics.ts',
      'tokens/tokens.service.ts: reaches the metrics registry outside a <cap>.metrics.ts',
      "tokens/revocation.metrics.ts: a capability's metrics file is src/<cap>/<cap>.metrics.ts, one per folder",
      'tokens/revocation.metrics.ts:4: a Counter without registers (the global registry)',
      'metrics/metrics.service.ts:3: declares a Gauge in the shared metrics infrastructure',
      'forwarding/deliverer.service.ts: uses prom-client outside a <cap>.metrics.ts',
      'sites/sites.metrics.ts: declares no injectable <Cap>Metrics class',
    ]);
  });
});
