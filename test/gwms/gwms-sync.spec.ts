import { spawnSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { removeDir, ROOT, tempDir } from '../support/service.js';

const SYNC = join(ROOT, 'contrib', 'glidekey-gwms-sync');
const asRoot = process.getuid!() === 0;
/** glidekey's user owns the staging side (nobody); the frontend's user (daemon) must own what the frontend reads. */
const GLIDEKEY_UID = asRoot ? 65534 : process.getuid!();
const FRONTEND = asRoot ? '1:1' : `${process.getuid!()}:${process.getgid!()}`;
const SKIP = asRoot ? '' : ' (ownership NOT checked: not running as root, so files cannot be handed to another user)';

/** glidekey's staging directories (owned by GLIDEKEY_UID), the frontend's (owned by the frontend user), and the sync's state. */
function layout() {
  const base = tempDir('gwms-sync-');
  const stage = join(base, 'var-lib-glidekey', 'gwms');
  const src = join(stage, 'tokens.d');
  const ssrc = join(stage, 'scitokens');
  const fe = join(base, 'var-lib-gwms-frontend');
  const dst = join(fe, 'tokens.d');
  const sdst = join(fe, 'scitokens');
  const state = join(base, 'var-lib-glidekey-gwms-sync');
  for (const d of [src, ssrc, dst, sdst]) mkdirSync(d, { recursive: true, mode: 0o700 });
  for (const d of [join(base, 'var-lib-glidekey'), stage, src, ssrc]) chownSync(d, GLIDEKEY_UID, GLIDEKEY_UID);
  const [feUid, feGid] = FRONTEND.split(':').map(Number);
  for (const d of [fe, dst, sdst]) chownSync(d, feUid, feGid);
  const env: Record<string, string> = {
    PATH: process.env.PATH!,
    GWMS_SYNC_TOKENS_SOURCE: src,
    GWMS_SYNC_TOKENS_DIR: dst,
    GWMS_SYNC_SCITOKENS_SOURCE: ssrc,
    GWMS_SYNC_SCITOKENS_DIR: sdst,
    // By name where the test may hand files to daemon: the default (frontend) is a name too.
    GWMS_SYNC_OWNER: asRoot ? 'daemon' : FRONTEND,
    GWMS_SYNC_STATE_DIR: state,
  };
  /** As glidekey writes: a file of its own in its own directory, with an mtime (seconds) in the past. */
  const stageFile = (path: string, bytes: Buffer | string, mtime = Date.now() / 1000 - 600) => {
    writeFileSync(path, bytes, { mode: 0o600 });
    chownSync(path, GLIDEKEY_UID, GLIDEKEY_UID);
    utimesSync(path, mtime, mtime);
  };
  const run = (args: string[] = [], extra: Record<string, string> = {}) => {
    const r = spawnSync('sh', [SYNC, ...args], { env: { ...env, ...extra }, encoding: 'utf8' });
    return { code: r.status, stderr: r.stderr };
  };
  /** A frontend directory: name -> [bytes, mode, regular file, uid:gid, mtime in ms]. */
  const frontend = (dir: string) =>
    Object.fromEntries(
      readdirSync(dir)
        .sort()
        .map((f) => {
          const st = lstatSync(join(dir, f));
          return [f, [readFileSync(join(dir, f), 'utf8'), (st.mode & 0o777).toString(8), st.isFile(), `${st.uid}:${st.gid}`, st.mtimeMs]];
        }),
    );
  /** What the frontend must see for a staging file: its bytes and mtime, the frontend's, 0600. */
  const like = (path: string) => [readFileSync(path, 'utf8'), '600', true, FRONTEND, statSync(path).mtimeMs];
  return { base, src, ssrc, dst, sdst, state, env, stageFile, run, frontend, like };
}

const JWT = (n: number) => `eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiJ0${n}In0.c2ln${n}`;

describe('contrib/glidekey-gwms-sync', () => {
  const dirs: string[] = [];
  const make = () => {
    const l = layout();
    dirs.push(l.base);
    return l;
  };
  afterAll(() => dirs.forEach(removeDir));

  it(`installs glidekey's staged token files as the frontend user's 0600 files with the same bytes and mtime, and a second run changes nothing${SKIP}`, () => {
    const l = make();
    l.stageFile(join(l.src, 'main.siteA.idtoken'), JWT(1), 1_700_000_000.25);
    l.stageFile(join(l.src, 'cms.siteA.idtoken'), JWT(2));
    l.stageFile(join(l.ssrc, 'osg.scitoken'), JWT(3));
    const first = l.run();
    expect([first.code, first.stderr]).toEqual([0, expect.stringContaining(`glidekey-gwms-sync: installed ${l.dst}/main.siteA.idtoken\n`)]);
    expect(l.frontend(l.dst)).toEqual({
      'cms.siteA.idtoken': l.like(join(l.src, 'cms.siteA.idtoken')),
      'main.siteA.idtoken': l.like(join(l.src, 'main.siteA.idtoken')),
    });
    expect(l.frontend(l.sdst)).toEqual({ 'osg.scitoken': l.like(join(l.ssrc, 'osg.scitoken')) });
    expect(statSync(join(l.dst, 'main.siteA.idtoken')).mtimeMs).toBe(1_700_000_000_250);
    // Its manifest is outside the frontend's directories and root's; no temp file is left behind.
    expect(readFileSync(join(l.state, 'manifest'), 'utf8')).toBe(
      [`${l.dst}/cms.siteA.idtoken`, `${l.dst}/main.siteA.idtoken`, `${l.sdst}/osg.scitoken`].sort().join('\n') + '\n',
    );
    expect([...readdirSync(l.dst), ...readdirSync(l.sdst)].filter((f) => f.startsWith('.'))).toEqual([]);

    const inodes = [l.dst, l.sdst].flatMap((d) => readdirSync(d).map((f) => statSync(join(d, f)).ino));
    expect(l.run()).toEqual({ code: 0, stderr: '' });
    expect([l.dst, l.sdst].flatMap((d) => readdirSync(d).map((f) => statSync(join(d, f)).ino))).toEqual(inodes);
  });

  it("carries a renewed mtime alone (glidekey's refresh touches the file), follows new bytes, removes what left staging, even the last file, and repairs a loosened file", () => {
    const l = make();
    const a = join(l.src, 'main.a.idtoken');
    l.stageFile(a, JWT(1), 1_700_000_000);
    l.stageFile(join(l.src, 'main.b.idtoken'), JWT(2));
    l.stageFile(join(l.ssrc, 'osg.scitoken'), JWT(3));
    expect(l.run().code).toBe(0);
    expect(statSync(join(l.dst, 'main.a.idtoken')).mtimeMs).toBe(1_700_000_000_000);
    // What ManagedDir does every gwms.frontend.refreshSeconds: utimes, same bytes, same inode.
    const now = Math.floor(Date.now() / 1000);
    utimesSync(a, now, now);
    const touched = l.run();
    expect([touched.code, touched.stderr]).toEqual([0, `glidekey-gwms-sync: installed ${l.dst}/main.a.idtoken\n`]);
    expect(l.frontend(l.dst)['main.a.idtoken']).toEqual([JWT(1), '600', true, FRONTEND, now * 1000]);
    // A new current token (same name, new bytes); a site gone; the last SciToken revoked.
    l.stageFile(a, JWT(4));
    unlinkSync(join(l.src, 'main.b.idtoken'));
    unlinkSync(join(l.ssrc, 'osg.scitoken'));
    const r = l.run();
    expect([r.code, r.stderr.split('\n').sort()]).toEqual([
      0,
      [
        '',
        `glidekey-gwms-sync: installed ${l.dst}/main.a.idtoken`,
        `glidekey-gwms-sync: removed ${l.dst}/main.b.idtoken (no longer in ${l.src})`,
        `glidekey-gwms-sync: removed ${l.sdst}/osg.scitoken (no longer in ${l.ssrc})`,
      ].sort(),
    ]);
    expect(l.frontend(l.dst)).toEqual({ 'main.a.idtoken': l.like(a) });
    expect(readdirSync(l.sdst)).toEqual([]);
    expect(readFileSync(join(l.state, 'manifest'), 'utf8')).toBe(`${l.dst}/main.a.idtoken\n`);
    spawnSync('chmod', ['0644', join(l.dst, 'main.a.idtoken')]);
    expect(l.run().code).toBe(0);
    expect(l.frontend(l.dst)).toEqual({ 'main.a.idtoken': l.like(a) });
  });

  it("never overwrites or removes a file it did not install: the frontend's own token is reported and kept, an identical one left alone quietly", () => {
    const l = make();
    writeFileSync(join(l.dst, 'main.siteA.idtoken'), "the frontend's own token", { mode: 0o600 });
    writeFileSync(join(l.dst, 'notes.txt'), "the admin's notes", { mode: 0o644 });
    writeFileSync(join(l.sdst, 'mine.scitoken'), JWT(7), { mode: 0o600 });
    l.stageFile(join(l.src, 'main.siteA.idtoken'), JWT(1));
    l.stageFile(join(l.src, 'main.siteB.idtoken'), JWT(2));
    l.stageFile(join(l.ssrc, 'mine.scitoken'), JWT(7));
    const r = l.run();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`not overwriting ${l.dst}/main.siteA.idtoken: not installed by glidekey-gwms-sync (move it away to hand it over)`);
    expect(r.stderr).toContain(`leaving ${l.sdst}/mine.scitoken alone: not installed by glidekey-gwms-sync, though it holds the same bytes`);
    expect(readFileSync(join(l.dst, 'main.siteA.idtoken'), 'utf8')).toBe("the frontend's own token");
    expect(readFileSync(join(l.dst, 'main.siteB.idtoken'), 'utf8')).toBe(JWT(2));
    for (const f of ['main.siteA.idtoken', 'main.siteB.idtoken']) unlinkSync(join(l.src, f));
    unlinkSync(join(l.ssrc, 'mine.scitoken'));
    expect(l.run().code).toBe(0);
    expect(readdirSync(l.dst).sort()).toEqual(['main.siteA.idtoken', 'notes.txt']);
    expect(readFileSync(join(l.dst, 'notes.txt'), 'utf8')).toBe("the admin's notes");
    expect(readdirSync(l.sdst)).toEqual(['mine.scitoken']);
  });

  it('refuses symlinks, non-regular files, hard links, files not owned by glidekey, empty or oversized files and names glidekey never writes; installs the rest', () => {
    const l = make();
    const secret = join(l.base, 'secret');
    writeFileSync(secret, "root's secret", { mode: 0o600 });
    symlinkSync(secret, join(l.src, 'main.link.idtoken'));
    mkdirSync(join(l.src, 'main.dir.idtoken'));
    spawnSync('mkfifo', [join(l.src, 'main.fifo.idtoken')]);
    l.stageFile(join(l.src, 'main.hard.idtoken'), JWT(4));
    linkSync(join(l.src, 'main.hard.idtoken'), join(l.base, 'hard-too'));
    l.stageFile(join(l.src, 'main.empty.idtoken'), '');
    l.stageFile(join(l.src, 'main.big.idtoken'), 'x'.repeat(65537));
    for (const odd of ['main.a.scitoken', 'notes.txt', '.main.a.idtoken', 'main a.idtoken']) l.stageFile(join(l.src, odd), JWT(5));
    l.stageFile(join(l.ssrc, 'osg.idtoken'), JWT(5));
    l.stageFile(join(l.src, '.main.ok.idtoken.0123456789ab.tmp'), JWT(6)); // glidekey's own temp file, mid-write: skipped quietly
    l.stageFile(join(l.src, 'main.ok.idtoken'), JWT(6));
    if (asRoot) writeFileSync(join(l.src, 'main.roots.idtoken'), JWT(8), { mode: 0o600 }); // not glidekey's file
    const r = l.run();
    expect(r.code).toBe(1);
    for (const why of [
      `refusing ${l.src}/main.link.idtoken: a symlink`,
      `refusing ${l.src}/main.dir.idtoken: not a regular file`,
      `refusing ${l.src}/main.fifo.idtoken: not a regular file`,
      `refusing ${l.src}/main.hard.idtoken: it has 2 hard links`,
      `refusing ${l.src}/main.empty.idtoken: empty`,
      `refusing ${l.src}/main.big.idtoken: over 65536 bytes`,
      ...['main.a.scitoken', 'notes.txt', '.main.a.idtoken', 'main a.idtoken'].map(
        (n) => `refusing ${l.src}/${n}: not a name glidekey writes there (<...>.idtoken`,
      ),
      `refusing ${l.ssrc}/osg.idtoken: not a name glidekey writes there (<...>.scitoken`,
      ...(asRoot ? [`refusing ${l.src}/main.roots.idtoken: owned by uid 0, not by the owner of ${l.src}`] : []),
    ])
      expect(r.stderr).toContain(why);
    expect(r.stderr).not.toContain('0123456789ab');
    expect(readdirSync(l.dst)).toEqual(['main.ok.idtoken']);
    expect(readdirSync(l.sdst)).toEqual([]);
  });

  it('refuses a frontend directory that is a symlink or open to others; skips a staging directory never used, but refuses one that vanished after use, changing nothing', () => {
    const l = make();
    l.stageFile(join(l.src, 'main.a.idtoken'), JWT(1));
    const elsewhere = join(l.base, 'etc-condor-passwords.d');
    mkdirSync(elsewhere, { mode: 0o700 });
    removeDir(l.sdst);
    symlinkSync(elsewhere, l.sdst);
    l.stageFile(join(l.ssrc, 'osg.scitoken'), JWT(2));
    const linked = l.run();
    expect([linked.code, linked.stderr]).toEqual([1, expect.stringContaining(`refusing ${l.sdst}: a symlink; nothing changed there`)]);
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(readdirSync(l.dst)).toEqual(['main.a.idtoken']);

    // A host with IDTOKENs only: the SciToken staging directory does not exist, and that is fine.
    expect(l.run([], { GWMS_SYNC_SCITOKENS_SOURCE: join(l.base, 'never') })).toEqual({ code: 0, stderr: '' });
    spawnSync('chmod', ['0770', l.dst]);
    expect(l.run([], { GWMS_SYNC_SCITOKENS_SOURCE: '' })).toEqual({ code: 1, stderr: `glidekey-gwms-sync: refusing ${l.dst}: writable by group or others\n` });
    spawnSync('chmod', ['0700', l.dst]);
    removeDir(l.src);
    expect(l.run([], { GWMS_SYNC_SCITOKENS_SOURCE: '' })).toEqual({
      code: 1,
      stderr: expect.stringContaining(`the staging directory ${l.src} does not exist (glidekey's gwms.frontend.tokensDir); nothing changed`),
    });
    expect(existsSync(join(l.dst, 'main.a.idtoken'))).toBe(true);

    const usage = spawnSync('sh', [SYNC, '--help'], { encoding: 'utf8' }).stdout;
    for (const v of [
      'GWMS_SYNC_TOKENS_SOURCE',
      'GWMS_SYNC_TOKENS_DIR',
      'GWMS_SYNC_SCITOKENS_SOURCE',
      'GWMS_SYNC_SCITOKENS_DIR',
      'GWMS_SYNC_OWNER',
      'GWMS_SYNC_STATE_DIR',
    ])
      expect(usage).toContain(v);
    expect(l.run(['--bogus'])).toEqual({ code: 2, stderr: 'glidekey-gwms-sync: unknown argument --bogus (see --help)\n' });
    expect(l.run([], { GWMS_SYNC_OWNER: 'no-such-user-here' })).toEqual({
      code: 2,
      stderr: "glidekey-gwms-sync: no user no-such-user-here (GWMS_SYNC_OWNER: the frontend's user)\n",
    });
    expect(l.run([], { GWMS_SYNC_OWNER: 'root' }).code).toBe(2);
    expect(l.run([], { GWMS_SYNC_OWNER: '1:x' }).code).toBe(2);
    expect(l.run([], { GWMS_SYNC_TOKENS_DIR: 'relative/tokens.d' }).code).toBe(2);
  });
});
