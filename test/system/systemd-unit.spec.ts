import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { loadConfig } from '../../src/config/config.loader.js';
import { ROOT } from '../support/service.js';

const UNITS = join(ROOT, 'contrib', 'systemd');
const UNIT_FILES = [
  'glidekey.service',
  'glidekey-reconfig.path',
  'glidekey-reconfig.service',
  'glidekey-gwms-sync.path',
  'glidekey-gwms-sync.timer',
  'glidekey-gwms-sync.service',
];

/** Debian's systemd package ships systemd-analyze; .ci/run installs it. */
const analyze = (() => {
  try {
    execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** `Key=value` lines of a unit's section, in order (a key may repeat). */
function directives(text: string, section: string): [string, string][] {
  const out: [string, string][] = [];
  let inSection = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) inSection = line === `[${section}]`;
    else if (inSection && line && !line.startsWith('#')) {
      const i = line.indexOf('=');
      out.push([line.slice(0, i), line.slice(i + 1)]);
    }
  }
  return out;
}

describe('the production layout (contrib/)', () => {
  const unit = readFileSync(join(UNITS, 'glidekey.service'), 'utf8');
  const service = directives(unit, 'Service');
  const value = (k: string) => service.filter(([key]) => key === k).map(([, v]) => v);

  it('runs as the dedicated user with the hardening options, its state and config directories and a HUP reload', () => {
    expect(value('User')).toEqual(['glidekey']);
    expect(readFileSync(join(ROOT, 'contrib', 'glidekey.sysusers'), 'utf8')).toMatch(/^u glidekey - .* \/var\/lib\/glidekey /m);
    for (const [k, v] of [
      ['ProtectSystem', 'strict'],
      ['NoNewPrivileges', 'true'],
      ['PrivateTmp', 'true'],
      ['ProtectHome', 'true'],
      ['CapabilityBoundingSet', ''],
      ['RestrictAddressFamilies', 'AF_INET AF_INET6 AF_UNIX'],
      ['UMask', '0077'],
      ['StateDirectory', 'glidekey'],
      ['StateDirectoryMode', '0700'],
      ['ConfigurationDirectory', 'glidekey'],
      ['ExecReload', '/bin/kill -HUP $MAINPID'],
      ['Environment', 'GLIDEKEY_CONFIG=/etc/glidekey/glidekey.yaml'],
    ])
      expect(value(k)).toContain(v);
    expect(value('SystemCallFilter')).toContain('@system-service');
    // glidekey writes nothing outside /var/lib/glidekey: the collector's files are root's (the sync's).
    expect(value('ReadWritePaths')).toEqual([]);
    expect(value('ReadWriteDirectories')).toEqual([]);
    // V8 needs writable executable memory: this option would kill the service at its first JIT.
    expect(value('MemoryDenyWriteExecute')).toEqual([]);
  });

  it('ships an installed configuration with absolute paths that the service accepts', () => {
    const config = loadConfig({ GLIDEKEY_CONFIG: join(ROOT, 'contrib', 'glidekey.yaml') });
    expect(config.dataDir).toBe('/var/lib/glidekey');
    for (const p of [config.tls.cert, config.tls.key, config.frontend.passwordsDir, config.frontend.revocationFile]) expect(p).toMatch(/^\//);
    // glidekey keeps its copies of the collector's files in its own directory.
    for (const p of [config.frontend.passwordsDir!, config.frontend.revocationFile!]) expect(p.startsWith('/var/lib/glidekey/')).toBe(true);
    // The path unit watches what the shipped configuration has glidekey write, and the sync reads
    // exactly that by default.
    const path = directives(readFileSync(join(UNITS, 'glidekey-reconfig.path'), 'utf8'), 'Path')
      .filter(([k]) => k === 'PathChanged')
      .map(([, v]) => v);
    expect(path).toEqual([config.frontend.passwordsDir, config.frontend.revocationFile]);
    const sync = readFileSync(join(ROOT, 'contrib', 'glidekey-collector-sync'), 'utf8');
    const syncDefault = (name: string) => new RegExp(`^: "\\$\\{${name}=([^}]*)\\}"$`, 'm').exec(sync)?.[1];
    expect([syncDefault('COLLECTOR_SYNC_SOURCE'), syncDefault('COLLECTOR_SYNC_REVOCATION_SOURCE')]).toEqual([
      config.frontend.passwordsDir,
      config.frontend.revocationFile,
    ]);
    expect(syncDefault('COLLECTOR_SYNC_REVOCATION_FILE')).toBe('/etc/condor/config.d/99-glidekey-revocation.conf');
    expect(config.frontend.reloadCommand).toBeUndefined();
  });

  it("runs the collector sync as root, sandboxed: it may write only the collector's passwords.d and config.d (and /tmp, for condor_reconfig)", () => {
    const reconfig = directives(readFileSync(join(UNITS, 'glidekey-reconfig.service'), 'utf8'), 'Service');
    const v = (k: string) => reconfig.filter(([key]) => key === k).map(([, x]) => x);
    expect(v('ExecStart')).toEqual(['/usr/libexec/glidekey/glidekey-collector-sync']);
    expect(v('User')).toEqual([]);
    expect(v('ProtectSystem')).toEqual(['strict']);
    expect(v('ReadWritePaths')).toEqual(['-/etc/condor/passwords.d -/etc/condor/config.d /tmp']);
    expect(v('StateDirectory')).toEqual(['glidekey-collector-sync']);
    expect(v('CapabilityBoundingSet')).toEqual(['CAP_DAC_READ_SEARCH CAP_CHOWN']);
    expect(v('RestrictAddressFamilies')).toEqual(['AF_INET AF_INET6 AF_UNIX AF_NETLINK']);
    for (const k of ['NoNewPrivileges', 'PrivateDevices', 'MemoryDenyWriteExecute', 'RestrictSUIDSGID']) expect(v(k)).toEqual(['true']);
    // The shipped script is what scripts/install.sh puts at that path.
    expect(readFileSync(join(ROOT, 'scripts', 'install.sh'), 'utf8')).toContain(
      'install -m 0755 contrib/glidekey-collector-sync "$root/usr/libexec/glidekey/glidekey-collector-sync"',
    );
  });

  it("runs the GlideinWMS frontend sync as root, sandboxed: it may write only the frontend's two directories, with CAP_DAC_OVERRIDE and CAP_CHOWN, started by its path unit and a timer", () => {
    const unitOf = (f: string, section: string) => directives(readFileSync(join(UNITS, f), 'utf8'), section);
    const svc = unitOf('glidekey-gwms-sync.service', 'Service');
    const v = (k: string) => svc.filter(([key]) => key === k).map(([, x]) => x);
    expect(v('ExecStart')).toEqual(['/usr/libexec/glidekey/glidekey-gwms-sync']);
    expect(v('User')).toEqual([]);
    expect(v('Type')).toEqual(['oneshot']);
    expect(v('ProtectSystem')).toEqual(['strict']);
    expect(v('ReadWritePaths')).toEqual(['-/var/lib/gwms-frontend/tokens.d -/var/lib/gwms-frontend/scitokens']);
    expect(v('StateDirectory')).toEqual(['glidekey-gwms-sync']);
    expect(v('CapabilityBoundingSet')).toEqual(['CAP_DAC_OVERRIDE CAP_CHOWN']);
    expect(v('RestrictAddressFamilies')).toEqual(['AF_UNIX']);
    for (const k of ['NoNewPrivileges', 'PrivateDevices', 'PrivateNetwork', 'PrivateTmp', 'MemoryDenyWriteExecute', 'RestrictSUIDSGID'])
      expect(v(k)).toEqual(['true']);
    // The commented gwms settings of the shipped configuration, uncommented, are accepted, and are
    // what the path unit watches and what the sync reads by default.
    const yaml = readFileSync(join(ROOT, 'contrib', 'glidekey.yaml'), 'utf8');
    const block = /^# gwms:\n(?:# {2}.*\n)+/m.exec(yaml)![0].replace(/^# ?/gm, '');
    const dir = mkdtempSync(join(tmpdir(), 'glidekey-yaml-'));
    try {
      writeFileSync(join(dir, 'glidekey.yaml'), `${yaml}\n${block}`);
      expect((load(block) as { gwms: object }).gwms).toBeDefined();
      const gwms = loadConfig({ GLIDEKEY_CONFIG: join(dir, 'glidekey.yaml') }).gwms.frontend;
      expect([gwms.tokensDir, gwms.scitokensDir]).toEqual(['/var/lib/glidekey/gwms/tokens.d', '/var/lib/glidekey/gwms/scitokens']);
      const watched = unitOf('glidekey-gwms-sync.path', 'Path')
        .filter(([k]) => k === 'PathChanged')
        .map(([, x]) => x);
      expect(watched).toEqual([gwms.tokensDir, gwms.scitokensDir]);
      const sync = readFileSync(join(ROOT, 'contrib', 'glidekey-gwms-sync'), 'utf8');
      const syncDefault = (name: string) => new RegExp(`^: "\\$\\{${name}=([^}]*)\\}"$`, 'm').exec(sync)?.[1];
      expect([syncDefault('GWMS_SYNC_TOKENS_SOURCE'), syncDefault('GWMS_SYNC_SCITOKENS_SOURCE')]).toEqual([gwms.tokensDir, gwms.scitokensDir]);
      // The sync's default targets are the directories its unit may write.
      expect([syncDefault('GWMS_SYNC_TOKENS_DIR'), syncDefault('GWMS_SYNC_SCITOKENS_DIR'), syncDefault('GWMS_SYNC_OWNER')]).toEqual([
        '/var/lib/gwms-frontend/tokens.d',
        '/var/lib/gwms-frontend/scitokens',
        'frontend',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(unitOf('glidekey-gwms-sync.path', 'Path').find(([k]) => k === 'Unit')?.[1]).toBe('glidekey-gwms-sync.service');
    const timer = unitOf('glidekey-gwms-sync.timer', 'Timer');
    expect(timer).toEqual(
      expect.arrayContaining([
        ['OnUnitActiveSec', '5min'],
        ['Unit', 'glidekey-gwms-sync.service'],
      ]),
    );
    const install = readFileSync(join(ROOT, 'scripts', 'install.sh'), 'utf8');
    expect(install).toContain('install -m 0755 contrib/glidekey-gwms-sync "$root/usr/libexec/glidekey/glidekey-gwms-sync"');
    expect(install).toContain('install -m 0644 contrib/glidekey-sync-lib.sh "$root/usr/libexec/glidekey/glidekey-sync-lib.sh"');
  });

  (analyze ? it : it.skip)(
    `passes systemd-analyze verify without a warning${analyze ? '' : ' (SKIPPED: systemd-analyze is not installed; .ci/run installs Debian package systemd)'}`,
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'glidekey-units-'));
      try {
        for (const f of UNIT_FILES) copyFileSync(join(UNITS, f), join(dir, f));
        // verify checks that each ExecStart program exists: on a host without HTCondor (or with
        // node elsewhere) the copy names one that does; every other line is verified as shipped.
        const substitutes: [string, string][] = [
          ['/usr/libexec/glidekey/glidekey-collector-sync', join(ROOT, 'contrib', 'glidekey-collector-sync')],
          ['/usr/libexec/glidekey/glidekey-gwms-sync', join(ROOT, 'contrib', 'glidekey-gwms-sync')],
          ['/usr/bin/node', process.execPath],
        ];
        for (const f of UNIT_FILES) {
          let text = readFileSync(join(dir, f), 'utf8');
          for (const [from, to] of substitutes) if (!existsSync(from)) text = text.replace(new RegExp(`^ExecStart=${from}( |$)`, 'gm'), `ExecStart=${to}$1`);
          writeFileSync(join(dir, f), text);
        }
        const r = spawnSync('systemd-analyze', ['verify', ...UNIT_FILES.map((f) => join(dir, f))], { encoding: 'utf8' });
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);

        // The check itself can fail: a misspelt option is reported.
        writeFileSync(join(dir, 'glidekey.service'), readFileSync(join(dir, 'glidekey.service'), 'utf8').replace('ProtectHome=', 'ProtectHom='));
        expect(spawnSync('systemd-analyze', ['verify', join(dir, 'glidekey.service')], { encoding: 'utf8' }).stderr).toContain("Unknown key 'ProtectHom'");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
