// The hostile and heavy callers of bench/contention.js, in a worker thread so that their own event
// loop does not delay the probes' timing: /metrics scraped 4-way, GET /tokens and GET /audit paged
// through the 300,000-row ledger and audit log, and bad glidein tickets at a fixed rate from one
// other loopback address (127.0.0.2). Runs until told to stop; reports counts by kind and status.
import { Agent, request } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const { origin, auditorKey, badPerSecond, scrapers, listers } = workerData;
let running = true;
const counts = {};
const count = (kind, status) => {
  const k = `${kind} ${status}`;
  counts[k] = (counts[k] ?? 0) + 1;
};

function call(agent, method, path, headers = {}, localAddress) {
  return new Promise((ok) => {
    const req = request(`${origin}${path}`, { method, agent, headers, ...(localAddress ? { localAddress } : {}) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => ok({ status: res.statusCode, text }));
    });
    req.on('error', () => ok({ status: 'error', text: '' }));
    req.end();
  });
}

const auth = { authorization: `Bearer ${auditorKey}` };
const agent = new Agent({ keepAlive: true, maxSockets: scrapers + 2 * listers });
const attacker = new Agent({ keepAlive: true, maxSockets: 64, localAddress: '127.0.0.2' });

async function scrape() {
  while (running) count('metrics', (await call(agent, 'GET', '/metrics', auth)).status);
}

/** Pages through a list by its cursor, newest first, back to the first page at the end. */
async function lister(path, cursorParam, nextOf) {
  let cursor = null;
  while (running) {
    const r = await call(agent, 'GET', `/api/v1${path}?limit=100${cursor ? `&${cursorParam}=${cursor}` : ''}`, auth);
    count(path, r.status);
    cursor = r.status === 200 ? nextOf(JSON.parse(r.text)) : null;
  }
}

/** badPerSecond requests a second, paced in 10 ms slots, at most 256 in flight. */
async function flood() {
  const bad = `gkt_${'0'.repeat(16)}_${'A'.repeat(43)}`;
  let inFlight = 0;
  const perSlot = badPerSecond / 100;
  let owed = 0;
  while (running) {
    owed += perSlot;
    for (; owed >= 1 && inFlight < 256; owed--) {
      inFlight++;
      void call(attacker, 'POST', '/api/v1/glidein/credentials', { authorization: `Bearer ${bad}` }).then((r) => {
        inFlight--;
        count('bad-ticket', r.status);
      });
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

parentPort.on('message', (m) => {
  if (m === 'stop') running = false;
});
await Promise.all([
  ...Array.from({ length: scrapers }, scrape),
  ...Array.from({ length: listers }, () => lister('/tokens', 'cursor', (j) => j.next)),
  ...Array.from({ length: listers }, () => lister('/audit', 'before', (j) => j.next)),
  flood(),
]);
agent.destroy();
attacker.destroy();
parentPort.postMessage(counts);
