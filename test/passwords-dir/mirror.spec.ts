import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseOld, readConfig, revokes } from '../../src/tokens/old-classad.js';
import { join } from 'node:path';
import { startTestApp, TestApp } from '../support/app.js';
import { client, removeDir, tempDir } from '../support/service.js';

describe('passwords.d and the revocation file, in process', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  const dir = tempDir('passwords.d-');
  const revocationFile = join(tempDir('condor-config-'), 'revocation.conf');

  beforeAll(async () => {
    t = await startTestApp({ env: { GLIDEKEY_FRONTEND_PASSWORDS_DIR: dir, GLIDEKEY_FRONTEND_REVOCATION_FILE: revocationFile } });
    api = client(t.api, t.adminKey);
  });
  afterAll(async () => {
    await t.close();
    removeDir(dir);
  });

  it('refuses a rotation whose key file would overwrite a file glidekey did not write, and leaves that file alone', async () => {
    expect((await api.post('/sites', { name: 'conf' })).status).toBe(201);
    const before = readFileSync(join(dir, 'conf'));
    writeFileSync(join(dir, 'conf_v2'), 'the admin put this here', { mode: 0o600 });
    const res = await api.post('/sites/conf/rotate', { graceSeconds: 60 });
    expect([res.status, res.json.error.code]).toEqual([409, 'PASSWORDS_DIR_CONFLICT']);
    expect((await api.get('/sites/conf')).json.key.version).toBe(1);
    expect(readFileSync(join(dir, 'conf_v2'), 'utf8')).toBe('the admin put this here');
    expect(readFileSync(join(dir, 'conf')).equals(before)).toBe(true);
    // An immediate rotation writes over its own file only.
    expect((await api.post('/sites/conf/rotate', { graceSeconds: 0 })).status).toBe(200);
    expect(readFileSync(join(dir, 'conf')).equals(before)).toBe(false);
  });

  it("removes a deleted site's file", async () => {
    expect((await api.post('/sites', { name: 'gone' })).status).toBe(201);
    expect(existsSync(join(dir, 'gone'))).toBe(true);
    expect((await api.del('/sites/gone')).status).toBe(204);
    expect(existsSync(join(dir, 'gone'))).toBe(false);
  });

  it('writes subjects into the revocation file with no $ form for HTCondor to expand', async () => {
    expect((await api.post('/revocations/subjects', { subject: 'x$(FULL_HOSTNAME)"y@fe' })).status).toBe(200);
    const content = readFileSync(revocationFile, 'utf8');
    expect(content).toMatch(
      /^# Written by glidekey[^\n]*\nSEC_TOKEN_REVOCATION_EXPR = \(sub =\?= strcat\("x\$", "\(FULL_HOSTNAME\)\\"y@fe"\) && iat <= \d+\)\n$/,
    );
    const [line] = readConfig(content);
    expect(line.macros).toEqual([]);
    expect(revokes(parseOld(line.value), { sub: 'x$(FULL_HOSTNAME)"y@fe', iat: 1 })).toBe(true);
    expect(revokes(parseOld(line.value), { sub: 'x', iat: 1 })).toBe(false);
    // Every $ is the last character of its literal, so the config reader finds no macro to expand.
    expect(content.split('\n')[1]).not.toMatch(/\$[^"]/);
  });
});
