import { isIntegerLiteral, topLevelMembers } from './json-members.js';

describe('topLevelMembers', () => {
  it('reads each top-level member with the exact text of its value', () => {
    const m = topLevelMembers(' { "a" : 1.8e9 , "b":{"exp":5,"s":"}\\"{"},"c":[1,[2,{"d":3}]],"e":"x,}","f":true,"g":null, "\\u0065xp" :7 } ');
    expect(m && Object.fromEntries(m)).toEqual({ a: '1.8e9', b: '{"exp":5,"s":"}\\"{"}', c: '[1,[2,{"d":3}]]', e: '"x,}"', f: 'true', g: 'null', exp: '7' });
    expect(topLevelMembers('{}')?.size).toBe(0);
  });

  it('refuses a member named twice, however it is spelled', () => {
    expect(topLevelMembers('{"exp":5,"exp":6}')).toBeUndefined();
    expect(topLevelMembers('{"exp":5,"\\u0065xp":6}')).toBeUndefined();
    // The same name nested is no duplicate.
    expect(topLevelMembers('{"exp":5,"x":{"exp":6}}')?.get('exp')).toBe('5');
  });

  it.each(['', '[]', '"x"', '{', '{"a"}', '{"a":}', '{"a":1,}', '{"a":1} x', '{"a":"x}', '{a:1}', '{"a":{"b":1}'])('refuses %p', (text) => {
    expect(topLevelMembers(text)).toBeUndefined();
  });

  it('tells plain integer literals from other numbers', () => {
    for (const ok of ['0', '5', '-3', '1700000000']) expect(isIntegerLiteral(ok)).toBe(true);
    for (const bad of ['1.8e9', '1700000000.0', '01', '-0.5', '"5"', '1E3', undefined]) expect(isIntegerLiteral(bad)).toBe(false);
  });
});
