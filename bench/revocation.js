// `npm run bench:revocation`: building SEC_TOKEN_REVOCATION_EXPR for the ceilings (100,000 jtis
// and 1,000 subjects with awkward characters) and reading it back through the model of the
// collector's config reader and old-syntax parser, as every revocation file write does. Baseline:
// JSON.stringify + JSON.parse of the same jtis and subjects in the same run (the cheapest encode
// and decode of that data).
import { randomBytes } from 'node:crypto';
import { revocationExpr } from '../dist/tokens/classad.js';
import { checkRevocationFile } from '../dist/tokens/revocation-check.js';

const JTIS = 100_000;
const SUBJECTS = 1_000;
const ROUNDS = 5;

const jtis = Array.from({ length: JTIS }, () => randomBytes(16).toString('hex'));
const subjects = Array.from({ length: SUBJECTS }, (_, i) => ({ subject: `site${i}$(X)"\\@fe.example.org\\`, issuedBefore: 1_700_000_000 + i }));
const tokens = jtis.map((jti) => ({ jti }));

function time(fn) {
  const ms = [];
  let out;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    out = fn();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  return { medianMs: ms[Math.floor(ms.length / 2)], out };
}

const build = time(() => revocationExpr(tokens, subjects));
const expr = build.out;
const check = time(() => checkRevocationFile(`SEC_TOKEN_REVOCATION_EXPR = ${expr}\n`, { jtis, subjects }));
const baseline = time(() => JSON.parse(JSON.stringify({ jtis, subjects })));
const total = build.medianMs + check.medianMs;
console.log(`revocation expression: ${JTIS} jtis + ${SUBJECTS} subjects, ${(Buffer.byteLength(expr) / 1e6).toFixed(2)} MB, depth ${check.out}`);
console.log(`  build ${build.medianMs.toFixed(0)} ms, model check ${check.medianMs.toFixed(0)} ms, total ${total.toFixed(0)} ms (median of ${ROUNDS})`);
console.log(`  baseline JSON round trip of the same data: ${baseline.medianMs.toFixed(0)} ms; ratio total/baseline ${(total / baseline.medianMs).toFixed(1)}`);
