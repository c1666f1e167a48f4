import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DesiredFiles, ManagedDir } from './managed-dir.js';

describe(ManagedDir.name, () => {
  let root: string;
  let dir: string;
  let db: string | undefined;
  const make = () => new ManagedDir(dir, join(root, 'manifest.json'), () => db);
  const want = (files: Record<string, string>, o: Partial<DesiredFiles> = {}): DesiredFiles => ({
    files: new Map(Object.entries(files).map(([k, v]) => [k, Buffer.from(v)])),
    mayClaim: () => true,
    refreshMs: 10_000,
    now: Date.now(),
    databaseEmpty: false,
    ...o,
  });

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'managed-dir-'));
    dir = join(root, 'tokens.d');
    db = 'db-1';
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('writes exact bytes 0600, renews only the mtime of an old unchanged file, and removes only what it wrote', () => {
    const m = make();
    expect(m.sync(want({ 'main.a.idtoken': 'tok-a' }), false).written).toEqual(['main.a.idtoken']);
    expect(readFileSync(join(dir, 'main.a.idtoken'), 'utf8')).toBe('tok-a');
    expect(statSync(join(dir, 'main.a.idtoken')).mode & 0o777).toBe(0o600);
    writeFileSync(join(dir, 'other'), 'x');
    const old = Date.now() / 1000 - 20;
    utimesSync(join(dir, 'main.a.idtoken'), old, old);
    expect(m.sync(want({ 'main.a.idtoken': 'tok-a' }), false).refreshed).toEqual(['main.a.idtoken']);
    expect(Date.now() - statSync(join(dir, 'main.a.idtoken')).mtimeMs).toBeLessThan(5_000);
    expect(m.sync(want({ 'main.a.idtoken': 'tok-b' }), false).written).toEqual(['main.a.idtoken']);
    expect(m.sync(want({}), false).removed).toEqual(['main.a.idtoken']);
    expect(readdirSync(dir)).toEqual(['other']);
  });

  it('tells an edit (repaired) from a change, claims only where allowed, and never writes through a link', () => {
    const m = make();
    m.sync(want({ a: '1' }), false);
    writeFileSync(join(dir, 'a'), 'edited');
    expect(m.sync(want({ a: '1' }), false).repaired).toEqual(['a']);
    writeFileSync(join(dir, 'theirs'), 'their bytes');
    writeFileSync(join(root, 'target'), 'target');
    symlinkSync(join(root, 'target'), join(dir, 'link'));
    const r = m.sync(want({ a: '1', theirs: 'ours', link: 'ours' }, { mayClaim: (n) => n !== 'theirs' }), false);
    expect(r.conflicts.sort()).toEqual(['link', 'theirs']);
    expect(readFileSync(join(dir, 'theirs'), 'utf8')).toBe('their bytes');
    expect(readFileSync(join(root, 'target'), 'utf8')).toBe('target');
    expect(m.sync(want({ a: '1', theirs: 'ours' }), false).claimed).toEqual(['theirs']);
  });

  it('keeps every file when an empty database that did not write the manifest names none, and cleans its own temp files at start', () => {
    make().sync(want({ a: '1', b: '2' }), false);
    db = 'db-2';
    const m = make();
    const r = m.sync(want({}, { databaseEmpty: true }), false);
    expect([r.removed, r.kept]).toEqual([[], ['a', 'b']]);
    db = 'db-1';
    writeFileSync(join(dir, '.a.0123456789ab.tmp'), 'partial');
    writeFileSync(join(dir, '.foreign.0123456789ab.tmp'), 'not ours');
    expect(make().sync(want({}, { databaseEmpty: true }), true).removed).toEqual(['a', 'b']);
    expect(existsSync(join(dir, '.a.0123456789ab.tmp'))).toBe(false);
    expect(readdirSync(dir)).toEqual(['.foreign.0123456789ab.tmp']);
  });
});
