import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { client, removeDir, startService } from '../support/service.js';
import { vector } from '../support/vectors.js';

/** Every encoding under which a secret could sit in a file or a log line. */
const forms = (b: Buffer) => [b, Buffer.from(b.toString('hex')), Buffer.from(b.toString('base64')), Buffer.from(b.toString('base64url'))];

describe('secrets at rest and in logs', () => {
  it('keeps no imported key bytes, derived key, API key or token in the database files or the logs', async () => {
    const svc = await startService();
    const api = client(svc.api, svc.adminKey);
    const secrets: Record<string, Buffer> = {};
    for (const name of ['site-ascii', 'site-binary']) {
      const v = vector(name);
      const site = `${v.kid}-${name}`;
      secrets[`${name} raw`] = Buffer.from(v.password_hex, 'hex');
      secrets[`${name} scrambled`] = Buffer.from(v.scrambled_file_hex, 'hex');
      secrets[`${name} derived`] = Buffer.from(v.derived_key_hex, 'hex');
      expect(
        (
          await api.post('/sites', {
            name: site,
            key: { format: 'condor', data: v.scrambled_file_hex && Buffer.from(v.scrambled_file_hex, 'hex').toString('base64') },
          })
        ).status,
      ).toBe(201);
      const minted = await api.post(`/sites/${site}/tokens`, {});
      expect(minted.status).toBe(201);
      secrets[`${name} token`] = Buffer.from(minted.json.token);
      secrets[`${name} token signature`] = Buffer.from(minted.json.token.split('.')[2], 'base64url');
      expect((await fetch(`${svc.api}/sites/${site}/keyfile`, { headers: { authorization: `Bearer ${svc.adminKey}` } })).status).toBe(200);
    }
    const made = await api.post('/apikeys', { name: 'reader', roles: ['auditor'] });
    secrets['api key'] = Buffer.from(made.json.apiKey);
    secrets['admin key'] = Buffer.from(svc.adminKey);
    secrets['master key'] = Buffer.from(readFileSync(join(svc.dataDir, 'master.key'), 'utf8').trim(), 'base64');
    const files = () => readdirSync(svc.dataDir).filter((f) => f.startsWith('glidekey.sqlite'));
    expect(files()).toEqual(expect.arrayContaining(['glidekey.sqlite', 'glidekey.sqlite-wal']));
    const read = () => files().map((f) => ({ f, bytes: readFileSync(join(svc.dataDir, f)) }));
    const check = (where: { f: string; bytes: Buffer }[]) => {
      for (const { f, bytes } of where) {
        for (const [label, secret] of Object.entries(secrets)) {
          for (const form of forms(secret)) expect([f, label, bytes.includes(form)]).toEqual([f, label, false]);
        }
      }
    };
    check(read()); // while running: the WAL holds the recent writes
    await svc.stop();
    check(read()); // after shutdown: checkpointed into the main file
    const log = Buffer.from(svc.output());
    expect(log.length).toBeGreaterThan(1000);
    check([{ f: 'service output', bytes: log }]);
    removeDir(svc.dataDir);
  });
});
