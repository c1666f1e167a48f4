import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { revocationExpr } from '../../src/tokens/classad.js';
import { removeDir, ROOT, tempDir } from '../support/service.js';

const SYNC = join(ROOT, 'contrib', 'glidekey-collector-sync');
const asRoot = process.getuid!() === 0;
/** The user glidekey runs as, for the staging files: nobody (root can hand files to it). */
const GLIDEKEY_UID = asRoot ? 65534 : process.getuid!();
const SKIP = asRoot ? '' : ' (ownership NOT checked: not running as root, so files cannot be handed to another user or to root)';

/** The staging side glidekey writes (owned by GLIDEKEY_UID), the collector side, and the sync's state, in one temp dir. */
function layout() {
  const base = tempDir('collector-sync-');
  const stage = join(base, 'var-lib-glidekey', 'collector');
  const src = join(stage, 'passwords.d');
  const rsrc = join(stage, '99-glidekey-revocation.conf');
  const dst = join(base, 'etc-condor', 'passwords.d');
  const confDir = join(base, 'etc-condor', 'config.d');
  const conf = join(confDir, '99-glidekey-revocation.conf');
  const state = join(base, 'var-lib-glidekey-collector-sync');
  const calls = join(base, 'reconfig.calls');
  const reconfig = join(base, 'condor_reconfig');
  mkdirSync(src, { recursive: true, mode: 0o700 });
  mkdirSync(dst, { recursive: true, mode: 0o700 });
  mkdirSync(confDir, { mode: 0o755 });
  writeFileSync(reconfig, `#!/bin/sh\necho "$*" >> '${calls}'\nexit "\${RECONFIG_EXIT:-0}"\n`, { mode: 0o755 });
  for (const d of [join(base, 'var-lib-glidekey'), stage, src]) chownSync(d, GLIDEKEY_UID, GLIDEKEY_UID);
  const env: Record<string, string> = {
    PATH: process.env.PATH!,
    COLLECTOR_SYNC_SOURCE: src,
    COLLECTOR_SYNC_REVOCATION_SOURCE: rsrc,
    COLLECTOR_SYNC_PASSWORDS_DIR: dst,
    COLLECTOR_SYNC_REVOCATION_FILE: conf,
    COLLECTOR_SYNC_STATE_DIR: state,
    COLLECTOR_SYNC_RECONFIG: `${reconfig} -daemon collector`,
    ...(asRoot ? {} : { COLLECTOR_SYNC_KEY_OWNER: `${process.getuid!()}:${process.getgid!()}` }),
  };
  /** As glidekey writes: a file of its own in its own directory. */
  const stageFile = (path: string, bytes: Buffer | string, mode = 0o600) => {
    writeFileSync(path, bytes, { mode });
    chownSync(path, GLIDEKEY_UID, GLIDEKEY_UID);
  };
  const run = (args: string[] = [], extra: Record<string, string> = {}) => {
    const r = spawnSync('sh', [SYNC, ...args], { env: { ...env, ...extra }, encoding: 'utf8' });
    return { code: r.status, stderr: r.stderr };
  };
  const reconfigs = () => (existsSync(calls) ? readFileSync(calls, 'utf8').split('\n').filter(Boolean) : []);
  /** The collector's passwords.d: name -> [hex bytes, mode, uid:gid]. */
  const collector = () =>
    Object.fromEntries(
      readdirSync(dst)
        .sort()
        .map((f) => {
          const st = lstatSync(join(dst, f));
          return [f, [readFileSync(join(dst, f)).toString('hex'), (st.mode & 0o777).toString(8), st.isFile(), `${st.uid}:${st.gid}`]];
        }),
    );
  return { base, src, rsrc, dst, conf, confDir, state, env, stageFile, run, reconfigs, collector };
}

const owner = asRoot ? '0:0' : `${process.getuid!()}:${process.getgid!()}`;
const hex = (b: Buffer | string) => Buffer.from(b).toString('hex');
/** Exactly what RevocationFileService writes. */
const snippet = (expr: string) =>
  `# Written by glidekey: revoked, unexpired IDTOKENs. Do not edit; changes are overwritten.\nSEC_TOKEN_REVOCATION_EXPR = ${expr}\n`;
const key = (n: number, len = 64) => Buffer.alloc(len, n);

describe('contrib/glidekey-collector-sync', () => {
  const dirs: string[] = [];
  const make = () => {
    const l = layout();
    dirs.push(l.base);
    return l;
  };
  afterAll(() => dirs.forEach(removeDir));

  it(`installs glidekey's staged keys as root-owned 0600 files and its snippet, reconfigures once, and a second run changes nothing${SKIP}`, () => {
    const l = make();
    const binary = Buffer.from([0, 10, 13, 255, 0xde, 0xad, 0xbe, 0xef]);
    l.stageFile(join(l.src, 'el7_osg35'), key(1));
    l.stageFile(join(l.src, 'el7_osg35_v2'), key(2));
    l.stageFile(join(l.src, 'short'), binary);
    // A tricky but legitimate value: the `$`, quote, trailing-backslash and line-feed encodings.
    const expr = revocationExpr([{ jti: 'a$(X)b' }, { jti: 'c"d\\' }], [{ subject: 'x\ny$', issuedBefore: 1700000000 }]);
    expect(expr).toContain('$"');
    l.stageFile(l.rsrc, snippet(expr), 0o644);

    const first = l.run();
    expect([first.code, first.stderr]).toEqual([0, expect.stringContaining(`installed ${l.dst}/el7_osg35\n`)]);
    expect(l.collector()).toEqual({
      el7_osg35: [hex(key(1)), '600', true, owner],
      el7_osg35_v2: [hex(key(2)), '600', true, owner],
      short: [hex(binary), '600', true, owner],
    });
    expect(readFileSync(l.conf, 'utf8')).toBe(snippet(expr));
    const conf = statSync(l.conf);
    expect([(conf.mode & 0o777).toString(8), `${conf.uid}:${conf.gid}`]).toEqual(['644', asRoot ? '0:0' : owner]);
    expect(l.reconfigs()).toEqual(['-daemon collector']);
    // Its manifest is outside passwords.d and root's; no temp file is left behind anywhere.
    expect(readFileSync(join(l.state, 'manifest'), 'utf8')).toBe(
      [`${l.conf}`, `${l.dst}/el7_osg35`, `${l.dst}/el7_osg35_v2`, `${l.dst}/short`].sort().join('\n') + '\n',
    );
    expect([...readdirSync(l.dst), ...readdirSync(l.confDir)].filter((f) => f.startsWith('.'))).toEqual([]);

    const inodes = readdirSync(l.dst).map((f) => statSync(join(l.dst, f)).ino);
    const second = l.run();
    expect(second).toEqual({ code: 0, stderr: '' });
    expect(readdirSync(l.dst).map((f) => statSync(join(l.dst, f)).ino)).toEqual(inodes);
    expect(l.reconfigs()).toHaveLength(1);
  });

  it('follows the staging dir: a changed key is replaced, a removed one removed, a loosened file repaired; each run that changed something reconfigures', () => {
    const l = make();
    l.stageFile(join(l.src, 'a'), key(1));
    l.stageFile(join(l.src, 'b'), key(2));
    expect(l.run().code).toBe(0);
    l.stageFile(join(l.src, 'a'), key(3)); // a non-graceful rotation: same name, new bytes
    unlinkSync(join(l.src, 'b')); // a retired key
    const r = l.run();
    expect([r.code, r.stderr]).toEqual([
      0,
      `glidekey-collector-sync: installed ${l.dst}/a\nglidekey-collector-sync: removed ${l.dst}/b (no longer in ${l.src})\nglidekey-collector-sync: ran ${l.env.COLLECTOR_SYNC_RECONFIG}\n`,
    ]);
    expect(l.collector()).toEqual({ a: [hex(key(3)), '600', true, owner] });
    expect(readFileSync(join(l.state, 'manifest'), 'utf8')).toBe(`${l.dst}/a\n`);
    spawnSync('chmod', ['0644', join(l.dst, 'a')]);
    expect(l.run().code).toBe(0);
    expect(l.collector()).toEqual({ a: [hex(key(3)), '600', true, owner] });
    expect(l.reconfigs()).toHaveLength(3);
  });

  it('never overwrites or removes a file it did not install: reported and exit 1 when it differs, left alone when it holds the same key', () => {
    const l = make();
    writeFileSync(join(l.dst, 'POOL'), "the collector's own POOL", { mode: 0o600 });
    writeFileSync(join(l.dst, 'site'), "an admin's key for site", { mode: 0o600 });
    writeFileSync(join(l.dst, 'mine'), key(7), { mode: 0o600 });
    l.stageFile(join(l.src, 'site'), key(1));
    l.stageFile(join(l.src, 'mine'), key(7)); // the same key as the admin's file (an imported one)
    l.stageFile(join(l.src, 'other'), key(2));
    const r = l.run();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`not overwriting ${l.dst}/site: not installed by glidekey-collector-sync (move it away to hand it over)`);
    expect(r.stderr).toContain(`leaving ${l.dst}/mine alone: not installed by glidekey-collector-sync, though it holds the same bytes`);
    expect(readFileSync(join(l.dst, 'site'), 'utf8')).toBe("an admin's key for site");
    expect(readFileSync(join(l.dst, 'other')).equals(key(2))).toBe(true);
    expect(l.reconfigs()).toHaveLength(1); // what it did install is in force
    // Gone from the staging dir: still never removed, since they are not the sync's.
    unlinkSync(join(l.src, 'site'));
    unlinkSync(join(l.src, 'mine'));
    expect(l.run().code).toBe(0);
    expect(readdirSync(l.dst).sort()).toEqual(['POOL', 'mine', 'other', 'site']);
    expect(readFileSync(join(l.dst, 'POOL'), 'utf8')).toBe("the collector's own POOL");
  });

  it('refuses symlinks, non-regular files, hard links, files not owned by glidekey, empty or oversized files and names HTCondor would hide; installs the rest', () => {
    const l = make();
    const secret = join(l.base, 'secret');
    writeFileSync(secret, key(9), { mode: 0o600 });
    symlinkSync(secret, join(l.src, 'link'));
    mkdirSync(join(l.src, 'dir'));
    spawnSync('mkfifo', [join(l.src, 'fifo')]);
    l.stageFile(join(l.src, 'hard'), key(4));
    linkSync(join(l.src, 'hard'), join(l.base, 'hard-too'));
    l.stageFile(join(l.src, 'empty'), '');
    l.stageFile(join(l.src, 'big'), Buffer.alloc(4097, 1));
    l.stageFile(join(l.src, 'max'), Buffer.alloc(4096, 1));
    for (const hidden of ['ce.sh', 'tool.py', 'k.rpmnew', 'k.dpkg-old', '.hidden', '#k', 'k~', 'sp ace']) l.stageFile(join(l.src, hidden), key(5));
    l.stageFile(join(l.src, '.ok.0123456789ab.tmp'), key(6)); // glidekey's own temp file, mid-write: skipped quietly
    l.stageFile(join(l.src, 'ok'), key(6));
    if (asRoot) writeFileSync(join(l.src, 'roots'), key(8), { mode: 0o600 }); // not glidekey's file
    const r = l.run();
    expect(r.code).toBe(1);
    for (const why of [
      `refusing ${l.src}/link: a symlink`,
      `refusing ${l.src}/dir: not a regular file`,
      `refusing ${l.src}/fifo: not a regular file`,
      `refusing ${l.src}/hard: it has 2 hard links`,
      `refusing ${l.src}/empty: empty`,
      `refusing ${l.src}/big: over 4096 bytes`,
      ...['ce.sh', 'tool.py', 'k.rpmnew', 'k.dpkg-old', '.hidden', '#k', 'k~', 'sp ace'].map((n) => `refusing ${l.src}/${n}: not a key name glidekey writes`),
      ...(asRoot ? [`refusing ${l.src}/roots: owned by uid 0, not by the owner of ${l.src}`] : []),
    ])
      expect(r.stderr).toContain(why);
    expect(r.stderr).not.toContain('.ok.0123456789ab.tmp');
    expect(readdirSync(l.dst).sort()).toEqual(['max', 'ok']);
  });

  it('refuses a staging directory reached through a symlink (glidekey owns its parent and could point it anywhere root can read)', () => {
    const l = make();
    l.stageFile(join(l.src, 'site1'), key(7));
    // As glidekey could: its passwords.d replaced by a link to a directory of root's files.
    const decoy = join(l.base, 'decoy');
    mkdirSync(decoy, { mode: 0o700 });
    writeFileSync(join(decoy, 'shadow'), 'root:secret\n', { mode: 0o600 });
    const link = join(l.base, 'var-lib-glidekey', 'collector', 'passwords.link');
    symlinkSync(decoy, link);
    const r = l.run([], { COLLECTOR_SYNC_SOURCE: link });
    expect([r.code, r.stderr]).toEqual([1, expect.stringContaining(`refusing ${link}: it is reached through a symlink (give its physical path)`)]);
    expect(readdirSync(l.dst)).toEqual([]);
    expect(l.reconfigs()).toEqual([]);
  });

  it('installs the revocation snippet only in the shape glidekey writes: an extra line, include, a second assignment, a macro or a continuation is refused and the good file kept', () => {
    const l = make();
    const good = snippet(revocationExpr([{ jti: 'j1' }]));
    l.stageFile(l.rsrc, good, 0o644);
    expect(l.run().code).toBe(0);
    const injected: [string, string][] = [
      [good + 'ALLOW_ADMINISTRATOR = *\n', 'line 3 is neither a comment nor the SEC_TOKEN_REVOCATION_EXPR assignment'],
      ['include : /etc/glidekey/evil.conf\n' + good, 'line 1 is neither a comment'],
      ['use SECURITY : HOST_BASED\n' + good, 'line 1 is neither a comment'],
      [good + 'SEC_TOKEN_REVOCATION_EXPR = false\n', 'line 3 is a second assignment'],
      ['SEC_TOKEN_REVOCATION_EXPR @=end\nfalse\n@end\n', 'line 1 is neither a comment'],
      ['SEC_TOKEN_REVOCATION_EXPR = jti =?= "$(FULL_HOSTNAME)"\n', 'line 1 holds a "$" not followed by a quote'],
      ['SEC_TOKEN_REVOCATION_EXPR = jti =?= "$ENV(HOME)"\n', 'line 1 holds a "$" not followed by a quote'],
      ['SEC_TOKEN_REVOCATION_EXPR = false \\\nALLOW_WRITE = *\n', 'line 1 ends in white space or a backslash'],
      ['# a comment \\\nSEC_TOKEN_REVOCATION_EXPR = false\n', 'line 1 is a comment ending in a backslash'],
      [' SEC_TOKEN_REVOCATION_EXPR = false\n', 'line 1 is neither a comment'],
      ['SEC_TOKEN_REVOCATION_EXPR = false\n\n', 'line 2 is neither a comment'],
      ['SEC_TOKEN_REVOCATION_EXPR = false', 'it does not end in a line feed'],
      ['SEC_TOKEN_REVOCATION_EXPR = false\0\n', 'it holds a NUL byte'],
      ['# nothing\n', 'it does not set SEC_TOKEN_REVOCATION_EXPR'],
    ];
    for (const [content, why] of injected) {
      l.stageFile(l.rsrc, content, 0o644);
      const r = l.run();
      expect([content, r.code, r.stderr]).toEqual([content, 1, expect.stringContaining(`refusing ${l.rsrc}: not the shape glidekey writes: ${why}`)]);
      expect(readFileSync(l.conf, 'utf8')).toBe(good);
    }
    symlinkSync(l.conf, join(l.base, 'conf-link'));
    unlinkSync(l.rsrc);
    symlinkSync(join(l.base, 'conf-link'), l.rsrc);
    expect(l.run()).toEqual({ code: 1, stderr: expect.stringContaining(`refusing ${l.rsrc}: a symlink`) });
    expect(l.reconfigs()).toHaveLength(1);
    expect(readdirSync(l.confDir)).toEqual(['99-glidekey-revocation.conf']);
    // Gone from the staging side: kept (removing it would lift revocations), and said so.
    unlinkSync(l.rsrc);
    expect(l.run()).toEqual({ code: 0, stderr: expect.stringContaining('leaving the installed') });
    expect(readFileSync(l.conf, 'utf8')).toBe(good);
  });

  it('retries a failed reconfigure at the next run, even when nothing changed since', () => {
    const l = make();
    l.stageFile(join(l.src, 'a'), key(1));
    const r = l.run([], { RECONFIG_EXIT: '3' });
    expect([r.code, r.stderr]).toEqual([1, expect.stringContaining('failed (exit 3); the next run tries again')]);
    expect(l.run()).toEqual({ code: 0, stderr: `glidekey-collector-sync: ran ${l.env.COLLECTOR_SYNC_RECONFIG}\n` });
    expect(l.run()).toEqual({ code: 0, stderr: '' });
    expect(l.reconfigs()).toHaveLength(2);
  });

  it("refuses to empty the collector's passwords.d when the staging dir is empty, unless told to; refuses a missing staging dir, changing nothing", () => {
    const l = make();
    l.stageFile(join(l.src, 'a'), key(1));
    l.stageFile(join(l.src, 'b'), key(2));
    expect(l.run().code).toBe(0);
    unlinkSync(join(l.src, 'a'));
    unlinkSync(join(l.src, 'b'));
    const r = l.run();
    expect([r.code, r.stderr]).toEqual([1, expect.stringContaining(`refusing to remove all 2 key file(s) installed in ${l.dst}`)]);
    expect(readdirSync(l.dst).sort()).toEqual(['a', 'b']);
    expect(l.run(['--allow-remove-all']).code).toBe(0);
    expect(readdirSync(l.dst)).toEqual([]);
    expect(l.run([], { COLLECTOR_SYNC_SOURCE: join(l.base, 'nowhere') })).toEqual({ code: 1, stderr: expect.stringContaining('does not exist') });
    const help = l.run(['--help']);
    expect([help.code, help.stderr]).toEqual([0, '']);
    const usage = spawnSync('sh', [SYNC, '--help'], { encoding: 'utf8' }).stdout;
    for (const v of ['COLLECTOR_SYNC_SOURCE', 'COLLECTOR_SYNC_PASSWORDS_DIR', 'COLLECTOR_SYNC_KEY_OWNER', 'COLLECTOR_SYNC_RECONFIG', '--allow-remove-all'])
      expect(usage).toContain(v);
    expect(l.run(['--bogus'])).toEqual({ code: 2, stderr: 'glidekey-collector-sync: unknown argument --bogus (see --help)\n' });
    expect(l.run([], { COLLECTOR_SYNC_KEY_OWNER: 'root' }).code).toBe(2);
  });

  it("run twice at once: one waits for the other (flock); the keys are installed once and the collector reconfigured once; a killed run's temp file is cleaned up", async () => {
    const l = make();
    for (let i = 0; i < 20; i++) l.stageFile(join(l.src, `site${i}`), key(i));
    writeFileSync(join(l.dst, '.glidekey-sync.AbC123'), 'half a key');
    const once = () =>
      new Promise<{ code: number | null; stderr: string }>((ok) => {
        const p = spawn('sh', [SYNC], { env: l.env });
        let stderr = '';
        p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        p.on('exit', (code) => ok({ code, stderr }));
      });
    const [a, b] = await Promise.all([once(), once()]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect((a.stderr + b.stderr).match(/installed /g)).toHaveLength(20);
    expect(l.reconfigs()).toHaveLength(1);
    expect(readdirSync(l.dst).sort()).toEqual([...Array(20).keys()].map((i) => `site${i}`).sort());
  });
});
