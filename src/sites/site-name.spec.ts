import { DomainError } from '../common/errors.js';
import { checkSiteName } from './site-name.js';

describe(checkSiteName.name, () => {
  it.each(['el7_osg35', 'POOL', 'a', 'A.b-c_1', '9', 'x'.repeat(128), 'site_v', 'site_vx', 'site.rpm', 'v2'])('accepts %j', (name) => {
    expect(checkSiteName(name)).toBe(name);
  });

  it.each([
    '',
    'a/b',
    '/etc',
    '..',
    '.',
    '.hidden',
    'a b',
    'a\n',
    'a\u0000',
    'x'.repeat(129),
    'x'.repeat(200),
    '-x',
    '_x',
    'x~',
    'x#',
    'é',
    'site.rpmsave',
    'site.rpmnew',
    'site.rpmorig',
    'site_v2',
    'site_v10',
  ])('refuses %j with INVALID_SITE_NAME', (name) => {
    expect(() => checkSiteName(name)).toThrow(DomainError);
    expect(() => checkSiteName(name)).toThrow(expect.objectContaining({ code: 'INVALID_SITE_NAME', field: 'name' }));
  });

  it.each([undefined, null, 42, ['el7_osg35'], { name: 'el7_osg35' }])('refuses non-string %j', (name) => {
    expect(() => checkSiteName(name)).toThrow(expect.objectContaining({ code: 'INVALID_SITE_NAME' }));
  });

  it('names the given field', () => {
    expect(() => checkSiteName('a/b', 'site')).toThrow(expect.objectContaining({ code: 'INVALID_SITE_NAME', field: 'site' }));
  });
});
