import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { client, removeDir, ROOT, Service, startService, tempDir } from './support/service.js';

const run = promisify(execFile);

/** The built CLI (dist/cli.js, as `npx glidekey` runs it): exit code, stdout, stderr. */
async function glidekey(env: Record<string, string>, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(ROOT, 'dist', 'cli.js'), ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('glidekey entry import and frontend register -local-user, as the README shows them', () => {
  let svc: Service;
  let etc: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    svc = await startService({ env: { GLIDEKEY_ROLES: 'factory' } });
    // A factory's configuration directory: glideinWMS.xml and a config.d fragment beside it.
    etc = tempDir('glidekey-gwms-etc-');
    copyFileSync(join(ROOT, 'test', 'fixtures', 'glideinWMS.xml'), join(etc, 'glideinWMS.xml'));
    mkdirSync(join(etc, 'config.d'));
    writeFileSync(
      join(etc, 'config.d', '10-extra.xml'),
      '<glidein><entries><entry name="OSG_US_Extra" gatekeeper="extra.example.org extra.example.org:9619" trust_domain="OSG" auth_method="idtoken"><attrs><attr name="GLIDEIN_Site" value="Extra"/><attr name="CONDOR_VERSION" value="23.0.3"/></attrs></entry></entries></glidein>\n',
    );
    env = { GLIDEKEY_URL: svc.url, GLIDEKEY_API_KEY_FILE: join(svc.dataDir, 'admin.key') };
  });
  afterAll(async () => {
    await svc.stop();
    removeDir(etc);
  });

  it('entry import -dry-run shows the lines and changes nothing; entry import imports; again, everything is unchanged', async () => {
    const xml = join(etc, 'glideinWMS.xml');
    const dry = await glidekey(env, 'entry', 'import', xml, '-dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('created OSG_US_Nebraska_ce1\n');
    expect(dry.stdout).toContain('created OSG_US_Extra\n');
    expect(dry.stdout).toContain('skipped OSG_US_Old_gt2 (DISABLED: ');
    expect(dry.stdout).toContain('skipped OSG_US_Purdue_set (ENTRY_SET: ');
    expect(dry.stdout).toMatch(/created NERSC_cori_bosco\n {2}warning CONDOR_VERSION_UNKNOWN: /);
    expect(dry.stderr).toContain('read 1 config.d fragment(s): 10-extra.xml');
    expect(dry.stderr).toContain('dry run, nothing changed: would have created 6, updated 0, unchanged 0, skipped 3, deleted 0');
    expect((await client(svc.api, svc.adminKey).get('/factory/entries')).json).toEqual([]);

    const real = await glidekey(env, 'entry', 'import', xml);
    expect([real.code, real.stdout]).toEqual([0, dry.stdout]);
    expect((await client(svc.api, svc.adminKey).get('/factory/entries')).json).toHaveLength(6);
    const again = await glidekey(env, 'entry', 'import', xml);
    expect(again.stdout).toContain('unchanged OSG_US_Nebraska_ce1\n');
    expect(again.stderr).toContain('created 0, updated 0, unchanged 6, skipped 3, deleted 0');

    writeFileSync(join(etc, 'broken.xml'), '<glidein>\n<entries>\n</glidein>\n');
    const bad = await glidekey(env, 'entry', 'import', join(etc, 'broken.xml'), '-no-config-d');
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/400 XML_MALFORMED: line 3: /);
  });

  it('frontend register -local-user records the local user its cache files go under', async () => {
    const reg = await glidekey(env, 'frontend', 'register', 'vofrontend.example.org', '-public-key', Buffer.alloc(32, 3).toString('base64'), '-local-user', 'frontend', '-key-out', join(etc, 'fe.key'));
    expect(reg.code).toBe(0);
    expect((await glidekey(env, 'frontend', 'list')).stdout).toMatch(/vofrontend\.example\.org .* frontend /);
  });
});
