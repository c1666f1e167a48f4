import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAtomicTemp, writeFileAtomic, writeFilesAtomic } from './atomic-file.js';

describe(writeFileAtomic.name, () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gk-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const binary = Buffer.from('00ff0a0d00deadbeef000a', 'hex');

  it('writes binary data exactly, mode 0600 by default', () => {
    const p = join(dir, 'POOL');
    writeFileAtomic(p, binary);
    expect(readFileSync(p).toString('hex')).toBe('00ff0a0d00deadbeef000a');
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['POOL']);
  });

  it('writes only the bytes of a Uint8Array view', () => {
    const p = join(dir, 'view');
    const backing = Buffer.from('AAAA' + 'secret' + 'ZZZZ');
    writeFileAtomic(p, new Uint8Array(backing.buffer, backing.byteOffset + 4, 6));
    expect(readFileSync(p, 'utf8')).toBe('secret');
  });

  it('writes strings as UTF-8 and honours an explicit mode', () => {
    const p = join(dir, 'token');
    writeFileAtomic(p, 'jé\n', 0o640);
    expect(readFileSync(p).toString('hex')).toBe('6ac3a90a');
    expect(statSync(p).mode & 0o777).toBe(0o640);
  });

  it('replaces existing content and tightens a loose mode', () => {
    const p = join(dir, 'el7_osg35');
    writeFileSync(p, 'old content that is longer than the new one');
    chmodSync(p, 0o644);
    writeFileAtomic(p, binary);
    expect(readFileSync(p).toString('hex')).toBe('00ff0a0d00deadbeef000a');
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['el7_osg35']);
  });

  it('leaves no temp files after many writes', () => {
    const p = join(dir, 'f');
    for (let i = 0; i < 20; i++) writeFileAtomic(p, `v${i}`);
    expect(readFileSync(p, 'utf8')).toBe('v19');
    expect(readdirSync(dir)).toEqual(['f']);
  });

  it('creates missing parent directories as 0700', () => {
    const p = join(dir, 'a', 'b', 'key');
    writeFileAtomic(p, 'x');
    expect(readFileSync(p, 'utf8')).toBe('x');
    expect(statSync(join(dir, 'a', 'b')).mode & 0o777).toBe(0o700);
  });

  it('cleans up its temp file and keeps the target when the rename fails', () => {
    const target = join(dir, 'taken');
    mkdirSync(target);
    writeFileSync(join(target, 'inside'), 'keep');
    expect(() => writeFileAtomic(target, 'new')).toThrow(expect.objectContaining({ code: expect.stringMatching(/^(EISDIR|ENOTEMPTY|EEXIST)$/) }));
    expect(readdirSync(dir)).toEqual(['taken']);
    expect(readFileSync(join(target, 'inside'), 'utf8')).toBe('keep');
  });
});

describe(writeFilesAtomic.name, () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gk-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes every file exactly, replacing old content, with the mode asked for, and leaves no temp file', () => {
    writeFileSync(join(dir, 'old'), 'old content, longer than the new');
    chmodSync(join(dir, 'old'), 0o644);
    const backing = Buffer.from('AAAA' + 'view' + 'ZZZZ');
    writeFilesAtomic(dir, [
      ['old', Buffer.from('new')],
      ['binary', Buffer.from('00ff0a0d00', 'hex')],
      ['view', new Uint8Array(backing.buffer, backing.byteOffset + 4, 4)],
    ]);
    expect(readdirSync(dir).sort()).toEqual(['binary', 'old', 'view']);
    expect([readFileSync(join(dir, 'old'), 'utf8'), readFileSync(join(dir, 'binary')).toString('hex'), readFileSync(join(dir, 'view'), 'utf8')]).toEqual([
      'new',
      '00ff0a0d00',
      'view',
    ]);
    for (const f of readdirSync(dir)) expect([f, statSync(join(dir, f)).mode & 0o777]).toEqual([f, 0o600]);
  });

  it('on a failed rename removes the temp files not yet renamed and keeps what was there', () => {
    mkdirSync(join(dir, 'taken'));
    writeFileSync(join(dir, 'taken', 'inside'), 'keep');
    writeFileSync(join(dir, 'z'), 'old');
    expect(() =>
      writeFilesAtomic(dir, [
        ['a', Buffer.from('1')],
        ['taken', Buffer.from('2')],
        ['z', Buffer.from('3')],
      ]),
    ).toThrow(expect.objectContaining({ code: expect.stringMatching(/^(EISDIR|ENOTEMPTY|EEXIST)$/) }));
    // `a` was renamed before the failure; `z` was not, and keeps its old content.
    expect(readdirSync(dir).sort()).toEqual(['a', 'taken', 'z']);
    expect([readFileSync(join(dir, 'a'), 'utf8'), readFileSync(join(dir, 'z'), 'utf8'), readFileSync(join(dir, 'taken', 'inside'), 'utf8')]).toEqual([
      '1',
      'old',
      'keep',
    ]);
  });

  it('does nothing for no files', () => {
    writeFilesAtomic(join(dir, 'never'), []);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('isAtomicTemp', () => {
  it('recognises the temporary names writeFileAtomic uses, and nothing an admin would name a key', () => {
    expect(isAtomicTemp('.el7_osg35.0123456789ab.tmp')).toBe(true);
    expect(isAtomicTemp('el7_osg35')).toBe(false);
    expect(isAtomicTemp('POOL')).toBe(false);
    expect(isAtomicTemp('.hidden.tmp')).toBe(false);
    expect(isAtomicTemp('site.0123456789ab.tmp')).toBe(false);
  });
});
