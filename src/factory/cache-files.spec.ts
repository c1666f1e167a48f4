import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/config.loader.js';
import { Settings } from '../config/settings.js';
import { CacheFiles } from './cache-files.js';

describe(CacheFiles.name, () => {
  let base: string;
  let cacheDir: string;
  let files: CacheFiles;
  const make = () =>
    new CacheFiles(
      new Settings(loadConfig({ GLIDEKEY_DATA_DIR: join(base, 'data'), GLIDEKEY_FACTORY_CACHE_DIR: cacheDir, GLIDEKEY_FACTORY_INSTANCE_NAME: 'f1' })),
    );
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'cache-files-'));
    cacheDir = join(base, 'client-proxies');
    mkdirSync(join(base, 'data'), { mode: 0o700 });
    files = make();
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it("never writes one credential's bytes into a file another credential owns (GlideinWMS's names can collide)", () => {
    // group g_h + entry e, and group g + entry h_e: both are credential_fe.g_h_e.idtoken.
    const a = { frontend: 'fe', entry: 'e', type: 'idtoken' as const };
    const b = { frontend: 'fe', entry: 'h_e', type: 'idtoken' as const };
    const pa = files.pathsOf('fe', a, ['g_h']);
    const pb = files.pathsOf('fe', b, ['g']);
    expect(pa).toEqual(pb);
    expect(files.apply([{ ref: a, value: 'token-of-a', paths: pa }])).toEqual({ written: 1, removed: 0 });
    expect(files.apply([{ ref: b, value: 'token-of-b', paths: pb }])).toEqual({ written: 0, removed: 0 });
    expect(readFileSync(join(cacheDir, pa[0]), 'utf8')).toBe('token-of-a');
    // Withdrawing b leaves a's file alone; in one call, the first set keeps the path.
    expect(files.apply([], [b])).toEqual({ written: 0, removed: 0 });
    expect(readFileSync(join(cacheDir, pa[0]), 'utf8')).toBe('token-of-a');
    const c = { frontend: 'fe', entry: 'x', type: 'idtoken' as const };
    const d = { frontend: 'fe', entry: 'y', type: 'idtoken' as const };
    const same = files.pathsOf('fe', c, ['m']);
    expect(
      files.apply([
        { ref: c, value: 'c', paths: same },
        { ref: d, value: 'd', paths: same },
      ]),
    ).toEqual({ written: 1, removed: 0 });
    expect(readFileSync(join(cacheDir, same[0]), 'utf8')).toBe('c');
  });

  it("removes, at the first use after a start, the temp files a crash left beside glidekey's own files, and nothing else", () => {
    const a = { frontend: 'fe', entry: 'e1', type: 'idtoken' as const };
    const [p] = files.pathsOf('fe', a, ['main']);
    files.apply([{ ref: a, value: 'v1', paths: [p] }]);
    const dir = join(cacheDir, p, '..');
    const name = p.split('/').pop()!;
    writeFileSync(join(dir, `.${name}.0123456789ab.tmp`), 'half a credential', { mode: 0o600 });
    writeFileSync(join(dir, '.credential_other.main_e9.idtoken.0123456789ab.tmp'), 'not ours', { mode: 0o600 });
    make().apply([{ ref: a, value: 'v2', paths: [p] }]);
    expect(readdirSync(dir).sort()).toEqual(['.credential_other.main_e9.idtoken.0123456789ab.tmp', name]);
    expect([readFileSync(join(cacheDir, p), 'utf8'), (statSync(join(cacheDir, p)).mode & 0o777).toString(8)]).toEqual(['v2', '600']);
  });
});
