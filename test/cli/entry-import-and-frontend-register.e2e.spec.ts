import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bash, readmeCommand } from '../support/readme.js';
import { client, removeDir, ROOT, Service, startService, tempDir } from '../support/service.js';

/**
 * Step 3's README blocks, taken from README.md and run as written with bash in the checkout (as
 * `npx glidekey` runs there), against the built service: entry import (dry run, then for real),
 * and frontend register -local-user. Parameterised only by the variables the README names.
 */
describe("Step 3's CLI blocks as written: entry import and frontend register -local-user", () => {
  let svc: Service;
  let home: string;
  let env: Record<string, string>;
  const admin = () => client(svc.api, svc.adminKey);
  const run = async (block: string) => {
    const r = await bash(`umask 022\n${block}`, { cwd: ROOT, env });
    return { ...r, stderr: r.stderr.replace(/^npm (warn|notice).*\n/gm, '') };
  };

  beforeAll(async () => {
    svc = await startService({ env: { GLIDEKEY_ROLES: 'factory' } });
    // A factory's configuration directory: glideinWMS.xml and a config.d fragment beside it.
    home = tempDir('glidekey-gwms-etc-');
    mkdirSync(join(home, 'gwms-factory', 'config.d'), { recursive: true });
    copyFileSync(join(ROOT, 'test', 'fixtures', 'glideinWMS.xml'), join(home, 'gwms-factory', 'glideinWMS.xml'));
    writeFileSync(
      join(home, 'gwms-factory', 'config.d', '10-extra.xml'),
      '<glidein><entries><entry name="OSG_US_Extra" gatekeeper="extra.example.org extra.example.org:9619" trust_domain="OSG" auth_method="idtoken"><attrs><attr name="GLIDEIN_Site" value="Extra"/><attr name="CONDOR_VERSION" value="23.0.3"/></attrs></entry></entries></glidein>\n',
    );
    env = {
      PATH: process.env.PATH ?? '',
      HOME: home,
      GLIDEKEY_URL: svc.url,
      GLIDEKEY_API_KEY_FILE: join(svc.dataDir, 'admin.key'),
      GLIDEINWMS_XML: join(home, 'gwms-factory', 'glideinWMS.xml'),
      FRONTEND_PUBLIC_KEY: Buffer.alloc(32, 3).toString('base64'),
    };
  });
  afterAll(async () => {
    await svc.stop();
    removeDir(svc.dataDir);
    removeDir(home);
  });

  it('entry import -dry-run shows the lines and changes nothing; entry import imports the same; again, all unchanged', async () => {
    const [dryLine, realLine] = readmeCommand('entry import "$GLIDEINWMS_XML" -dry-run').split('\n');
    const dry = await run(dryLine);
    expect([dry.code, dry.stderr]).toEqual([
      0,
      expect.stringContaining('dry run, nothing changed: would have created 6, updated 0, unchanged 0, skipped 3, deleted 0'),
    ]);
    expect(dry.stdout).toContain('created OSG_US_Nebraska_ce1\n');
    expect(dry.stdout).toContain('created OSG_US_Extra\n');
    expect(dry.stdout).toContain('skipped OSG_US_Old_gt2 (DISABLED: ');
    expect(dry.stdout).toContain('skipped OSG_US_Purdue_set (ENTRY_SET: ');
    expect(dry.stdout).toMatch(/created NERSC_cori_bosco\n {2}warning CONDOR_VERSION_UNKNOWN: /);
    expect(dry.stderr).toContain('read 1 config.d fragment(s): 10-extra.xml');
    expect((await admin().get('/factory/entries')).json).toEqual([]);

    const real = await run(realLine);
    expect([real.code, real.stdout]).toEqual([0, dry.stdout]);
    expect((await admin().get('/factory/entries')).json.map((e: { name: string }) => e.name)).toEqual([
      'EGI_DE_KIT_arc',
      'NERSC_cori_bosco',
      'OSG_US_Extra',
      'OSG_US_Nebraska_ce1',
      'OSG_US_Nebraska_ce1_gpu',
      'OSG_US_Wisc_nodefaults',
    ]);
    const again = await run(realLine);
    expect(again.stdout).toContain('unchanged OSG_US_Nebraska_ce1\n');
    expect(again.stderr).toContain('created 0, updated 0, unchanged 6, skipped 3, deleted 0');

    writeFileSync(join(home, 'broken.xml'), '<glidein>\n<entries>\n</glidein>\n');
    const bad = await run(`npx glidekey entry import "$HOME/broken.xml" -no-config-d`);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/400 XML_MALFORMED: line 3: /);
  });

  it('frontend register -local-user records the local user its cache files go under', async () => {
    const r = await run(readmeCommand('-local-user frontend'));
    expect(r.code).toBe(0);
    expect(statSync(join(home, 'vofrontend.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(home, 'vofrontend.key'), 'utf8')).toMatch(/^gk_[0-9a-f]{16}_/);
    expect((await admin().get('/factory/frontends')).json).toEqual([expect.objectContaining({ name: 'vofrontend.example.org', localUser: 'frontend' })]);
  });
});
