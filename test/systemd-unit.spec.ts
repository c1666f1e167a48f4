import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/config.loader.js';
import { ROOT } from './support/service.js';

const UNITS = join(ROOT, 'contrib', 'systemd');
const UNIT_FILES = ['glidekey.service', 'glidekey-reconfig.path', 'glidekey-reconfig.service'];

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
    ]) expect(value(k)).toContain(v);
    expect(value('SystemCallFilter')).toContain('@system-service');
    expect(value('ReadWritePaths')).toEqual(['-/etc/condor/passwords.d -/etc/condor/config.d']);
    // V8 needs writable executable memory: this option would kill the service at its first JIT.
    expect(value('MemoryDenyWriteExecute')).toEqual([]);
  });

  it('ships an installed configuration with absolute paths that the service accepts', () => {
    const config = loadConfig({ GLIDEKEY_CONFIG: join(ROOT, 'contrib', 'glidekey.yaml') });
    expect(config.dataDir).toBe('/var/lib/glidekey');
    for (const p of [config.tls.cert, config.tls.key, config.frontend.passwordsDir, config.frontend.revocationFile]) expect(p).toMatch(/^\//);
    // The path unit watches what the shipped configuration has glidekey write.
    const path = directives(readFileSync(join(UNITS, 'glidekey-reconfig.path'), 'utf8'), 'Path').filter(([k]) => k === 'PathChanged').map(([, v]) => v);
    expect(path).toEqual([config.frontend.passwordsDir, config.frontend.revocationFile]);
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
          ['/usr/sbin/condor_reconfig', '/bin/true'],
          ['/usr/bin/node', process.execPath],
        ];
        for (const f of UNIT_FILES) {
          let text = readFileSync(join(dir, f), 'utf8');
          for (const [from, to] of substitutes) if (!existsSync(from)) text = text.replaceAll(`ExecStart=${from} `, `ExecStart=${to} `);
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
