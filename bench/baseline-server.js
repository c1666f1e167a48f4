// The HTTP baseline: a bare node:http server that, on POST, signs the service's claims with jose
// (HS256, non-extractable WebCrypto key) and answers 201 {"token": ...}. Loopback only.
import { createServer } from 'node:http';
import { baselineKey, baselineSign } from './util.js';

const port = Number(process.env.BENCH_BASELINE_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('BENCH_BASELINE_PORT must be a port number');
  process.exit(2);
}
const key = await baselineKey();

const server = createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      const token = await baselineSign(key);
      const body = JSON.stringify({ token });
      res.writeHead(201, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad request"}');
    }
  });
});
server.listen(port, '127.0.0.1', () => console.log(`baseline listening on 127.0.0.1:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
