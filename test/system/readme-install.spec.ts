import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bash, readmeCommand } from '../support/readme.js';
import { removeDir, ROOT, tempDir } from '../support/service.js';

/** Debian's systemd package ships systemd-analyze; .ci/run installs it. */
const analyze = (() => {
  try {
    execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/**
 * The README's Install block: its scripts/install.sh line run as written with DESTDIR (the
 * packagers' convention), so the host is never changed; the edit and enable lines are checked to
 * name what was installed. Running it without DESTDIR is only checked to refuse outside /opt/glidekey.
 */
describe('install (scripts/install.sh), as the README shows it', () => {
  const work = tempDir('glidekey-install-');
  afterAll(() => removeDir(work));
  const block = readmeCommand('scripts/install.sh');
  const UNITS = [
    'glidekey.service',
    'glidekey-reconfig.path',
    'glidekey-reconfig.service',
    'glidekey-gwms-sync.path',
    'glidekey-gwms-sync.service',
    'glidekey-gwms-sync.timer',
  ];
  const destdir = join(work, 'destdir');

  it('installs under DESTDIR exactly the files and modes the README lists, and leaves the host alone', async () => {
    const lines = block.split('\n');
    expect(lines).toEqual(['scripts/install.sh', '"${EDITOR:-vi}" /etc/glidekey/glidekey.yaml', 'systemctl enable --now glidekey glidekey-reconfig.path']);
    const r = await bash(lines[0], { cwd: ROOT, env: { PATH: process.env.PATH!, DESTDIR: destdir } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('not creating the glidekey user (systemd-sysusers), setting no owner or group, not calling systemctl');
    const found: string[] = [];
    const walk = (rel: string) => {
      for (const name of readdirSync(join(destdir, rel)).sort()) {
        const st = lstatSync(join(destdir, rel, name));
        found.push(`${rel}/${name} ${(st.mode & 0o777).toString(8)}`);
        if (st.isDirectory()) walk(`${rel}/${name}`);
      }
    };
    walk('');
    expect(found).toEqual([
      '/etc 755',
      '/etc/glidekey 750',
      '/etc/glidekey/glidekey.yaml 640',
      '/etc/glidekey/tls 750',
      '/etc/systemd 755',
      '/etc/systemd/system 755',
      '/etc/systemd/system/glidekey-gwms-sync.path 644',
      '/etc/systemd/system/glidekey-gwms-sync.service 644',
      '/etc/systemd/system/glidekey-gwms-sync.timer 644',
      '/etc/systemd/system/glidekey-reconfig.path 644',
      '/etc/systemd/system/glidekey-reconfig.service 644',
      '/etc/systemd/system/glidekey.service 644',
      '/usr 755',
      '/usr/lib 755',
      '/usr/lib/sysusers.d 755',
      '/usr/lib/sysusers.d/glidekey.conf 644',
      '/usr/libexec 755',
      '/usr/libexec/glidekey 755',
      '/usr/libexec/glidekey/glidekey-collector-sync 755',
      '/usr/libexec/glidekey/glidekey-gwms-sync 755',
      '/usr/libexec/glidekey/glidekey-sync-lib.sh 644',
      '/var 755',
      '/var/lib 755',
      '/var/lib/glidekey 700',
    ]);
    const same = (installed: string, shipped: string) => expect(readFileSync(join(destdir, installed)).equals(readFileSync(join(ROOT, shipped)))).toBe(true);
    same('usr/lib/sysusers.d/glidekey.conf', 'contrib/glidekey.sysusers');
    same('etc/glidekey/glidekey.yaml', 'contrib/glidekey.yaml');
    for (const f of ['glidekey-collector-sync', 'glidekey-gwms-sync', 'glidekey-sync-lib.sh']) same(`usr/libexec/glidekey/${f}`, `contrib/${f}`);
    for (const u of UNITS) same(`etc/systemd/system/${u}`, `contrib/systemd/${u}`);
    // The units the enable line names are the ones installed.
    for (const u of ['glidekey.service', 'glidekey-reconfig.path']) expect(existsSync(join(destdir, 'etc/systemd/system', u))).toBe(true);
    // So are the ones README Step 1 has a GlideinWMS frontend host enable.
    const step1 = /### Step 1[\s\S]*?### Step 2/.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'))![0];
    expect(step1).toContain('`systemctl enable --now glidekey-gwms-sync.path glidekey-gwms-sync.timer`');
    for (const u of ['glidekey-gwms-sync.path', 'glidekey-gwms-sync.timer']) expect(existsSync(join(destdir, 'etc/systemd/system', u))).toBe(true);
    // The installed scripts find their shared library beside them: each runs from the DESTDIR copy.
    for (const f of ['glidekey-collector-sync', 'glidekey-gwms-sync']) {
      const help = spawnSync('sh', [join(destdir, 'usr/libexec/glidekey', f), '--help'], { encoding: 'utf8' });
      expect([f, help.status, help.stderr]).toEqual([f, 0, '']);
    }

    // Run again (an upgrade): an edited configuration is kept, and the script says so.
    writeFileSync(join(destdir, 'etc/glidekey/glidekey.yaml'), 'port: 9443\n');
    const again = await bash(lines[0], { cwd: ROOT, env: { PATH: process.env.PATH!, DESTDIR: destdir } });
    expect([again.code, readFileSync(join(destdir, 'etc/glidekey/glidekey.yaml'), 'utf8')]).toEqual([0, 'port: 9443\n']);
    expect(again.stderr).toContain(`kept the existing ${destdir}/etc/glidekey/glidekey.yaml`);
  });

  it('refuses, changing nothing, outside /opt/glidekey or with a relative DESTDIR', async () => {
    const rel = await bash('scripts/install.sh', { cwd: ROOT, env: { PATH: process.env.PATH!, DESTDIR: 'pkgroot' } });
    expect([rel.code, rel.stderr]).toEqual([1, 'glidekey install: DESTDIR must be an absolute path (it is pkgroot)\n']);
    if (ROOT === '/opt/glidekey') return; // a real install would follow
    const r = await bash('scripts/install.sh', { cwd: ROOT, env: { PATH: process.env.PATH! } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(process.getuid!() === 0 ? /but the unit runs \/usr\/bin\/node \/opt\/glidekey\/dist\/main\.js/ : /run as root/);
  });

  (analyze ? it : it.skip)(
    `the installed units pass systemd-analyze verify${analyze ? '' : ' (SKIPPED: systemd-analyze is not installed; .ci/run installs Debian package systemd)'}`,
    () => {
      // As test/system/systemd-unit.spec.ts: verify checks that each ExecStart program exists, so a copy
      // names the one installed under DESTDIR (or node where /usr/bin has none).
      const dir = join(work, 'verify');
      mkdirSync(dir);
      const syncs = ['/usr/libexec/glidekey/glidekey-collector-sync', '/usr/libexec/glidekey/glidekey-gwms-sync'];
      for (const u of UNITS) {
        let text = readFileSync(join(destdir, 'etc/systemd/system', u), 'utf8');
        for (const [from, to] of [...syncs.map((s) => [s, join(destdir, s)]), ['/usr/bin/node', process.execPath]])
          if (syncs.includes(from) || !existsSync(from)) text = text.replace(new RegExp(`^ExecStart=${from}( |$)`, 'gm'), `ExecStart=${to}$1`);
        writeFileSync(join(dir, u), text);
      }
      const r = spawnSync('systemd-analyze', ['verify', ...UNITS.map((u) => join(dir, u))], { encoding: 'utf8' });
      expect([r.status, r.stderr]).toEqual([0, '']);
    },
  );
});
