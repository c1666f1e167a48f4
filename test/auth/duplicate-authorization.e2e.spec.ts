import { connect } from 'node:net';
import { client, Service, startService } from '../support/service.js';

/** One raw HTTP/1.1 exchange over a socket, so the request can carry headers fetch would merge. */
function rawRequest(url: string, head: string[], body = ''): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((ok, fail) => {
    const sock = connect(Number(port), hostname);
    let data = '';
    sock.setEncoding('utf8');
    sock.setTimeout(10_000, () => sock.destroy(new Error('no answer in 10 s')));
    sock.on('data', (d: string) => (data += d));
    sock.on('error', fail);
    sock.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      ok({ status, body: data.slice(data.indexOf('\r\n\r\n') + 4) });
    });
    const lines = [
      ...head,
      `Host: ${hostname}:${port}`,
      'Connection: close',
      ...(body ? ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`] : []),
    ];
    sock.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  });
}

describe('two Authorization headers (real service over a raw socket)', () => {
  let svc: Service;
  beforeAll(async () => {
    svc = await startService({ env: { GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' } });
  });
  afterAll(() => svc?.stop());

  const sites = async () => (await client(svc.api, svc.adminKey).get('/sites')).text;

  it('a single header still works (control)', async () => {
    const res = await rawRequest(svc.url, ['GET /api/v1/sites HTTP/1.1', `Authorization: Bearer ${svc.adminKey}`]);
    expect(res.status).toBe(200);
  });

  it.each([
    [
      'valid first, junk second',
      (k: string) => [`Authorization: Bearer ${k}`, 'Authorization: Bearer gk_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ],
    ['junk first, valid second', (k: string) => ['Authorization: Bearer nothing', `Authorization: Bearer ${k}`]],
    ['the same valid key twice', (k: string) => [`Authorization: Bearer ${k}`, `authorization: Bearer ${k}`]],
  ])('%s: 401 DUPLICATE_AUTHORIZATION, nothing created', async (_label, headers) => {
    const before = await sites();
    const res = await rawRequest(svc.url, ['POST /api/v1/sites HTTP/1.1', ...headers(svc.adminKey)], JSON.stringify({ name: 'smuggled' }));
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body).error.code).toBe('DUPLICATE_AUTHORIZATION');
    expect(await sites()).toBe(before);
  });

  it('the glidein ticket route refuses two headers too', async () => {
    const res = await rawRequest(svc.url, [
      'POST /api/v1/glidein/credentials HTTP/1.1',
      'Authorization: Bearer gkt_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      'Authorization: Bearer x',
    ]);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body).error.code).toBe('DUPLICATE_AUTHORIZATION');
  });
});
