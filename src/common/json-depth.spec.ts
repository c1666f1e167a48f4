import { nestsDeeperThan } from './json-depth.js';

describe('nestsDeeperThan', () => {
  it('counts nesting of objects and arrays', () => {
    expect(nestsDeeperThan('{"a":[{"b":1}]}', 3)).toBe(false);
    expect(nestsDeeperThan('{"a":[{"b":[1]}]}', 3)).toBe(true);
    expect(nestsDeeperThan('[]', 1)).toBe(false);
    expect(nestsDeeperThan('[[]]', 1)).toBe(true);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(nestsDeeperThan(JSON.stringify({ a: '[[[[{{{{' }), 1)).toBe(false);
    expect(nestsDeeperThan(JSON.stringify({ a: 'x"[[[[\\"{{{{' }), 1)).toBe(false);
    expect(nestsDeeperThan(JSON.stringify({ a: 'x\\', b: [[[1]]] }), 3)).toBe(true);
  });

  it('scans a 20 KB hostile body in well under a millisecond per KB', () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const start = process.hrtime.bigint();
    expect(nestsDeeperThan(deep, 32)).toBe(true);
    expect(nestsDeeperThan('"' + '['.repeat(20_000) + '"', 32)).toBe(false);
    expect(Number(process.hrtime.bigint() - start) / 1e6).toBeLessThan(20);
  });
});
