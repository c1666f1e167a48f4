import { DomainError } from '../common/errors.js';
import { checkSiteName, SiteLookupPipe, SiteNamePipe } from './site-name.js';

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
    'site.rpmorig',
    'site_v2',
    'site_v10',
  ])('refuses %j with INVALID_SITE_NAME', (name) => {
    expect(() => checkSiteName(name)).toThrow(DomainError);
    expect(() => checkSiteName(name)).toThrow(expect.objectContaining({ code: 'INVALID_SITE_NAME', field: 'name' }));
  });

  // Every alternative of HTCondor's default LOCAL_CONFIG_DIR_EXCLUDE_REGEXP.
  const CONDOR_DEFAULT = /^((\..*)|(.*\.pl)|(.*\.py)|(.*\.sh)|(.*~)|(#.*)|(.*\.rpmsave)|(.*\.rpmnew)|(.*\.dpkg-old)|(.*\.dpkg-dist)|(.*\.cfsaved))$/;

  it.each(['.pl', '.py', '.sh', '.rpmsave', '.rpmnew', '.dpkg-old', '.dpkg-dist', '.cfsaved'])(
    'refuses a name ending in %s with SITE_NAME_HIDDEN_BY_CONDOR, naming the suffix',
    (suffix) => {
      for (const name of [`ce${suffix}`, `x.y${suffix}`, `a${suffix}${suffix}`]) {
        expect(CONDOR_DEFAULT.test(name)).toBe(true);
        expect(() => checkSiteName(name)).toThrow(
          expect.objectContaining({ code: 'SITE_NAME_HIDDEN_BY_CONDOR', field: 'name', message: expect.stringContaining(`"${suffix}"`) }),
        );
      }
    },
  );

  it.each(['.x', '..', '#x', 'x~', '.sh'])('refuses %j, which HTCondor also hides, by the plain-name rule', (name) => {
    expect(CONDOR_DEFAULT.test(name)).toBe(true);
    expect(() => checkSiteName(name)).toThrow(expect.objectContaining({ code: 'INVALID_SITE_NAME' }));
  });

  it.each(['ce.SH', 'ce.Sh', 'pilot.PY', 'x.PL', 'y.CFSAVED', 'x.DPKG-OLD', 'ce.sh2', 'ce.shx', 'ce_sh', 'cesh', 'x.dpkg', 'a.p', 'x.rpm-new', 'x.pyc'])(
    'accepts %j, which HTCondor (case-sensitive) offers',
    (name) => {
      expect(CONDOR_DEFAULT.test(name)).toBe(false);
      expect(checkSiteName(name)).toBe(name);
    },
  );

  it('accepts no name that the default expression hides (every suffix, every plain character before it)', () => {
    const chars = 'abcXYZ019_.-'.split('');
    let checked = 0;
    for (const a of chars)
      for (const b of chars)
        for (const tail of ['', '.pl', '.py', '.sh', '.rpmsave', '.rpmnew', '.dpkg-old', '.dpkg-dist', '.cfsaved', '.SH', 'sh', '~', '.rpmorig']) {
          for (const name of [`${a}${b}${tail}`, `${a}${tail}`, `${tail}${a}`]) {
            let ok = true;
            try {
              checkSiteName(name);
            } catch {
              ok = false;
            }
            if (CONDOR_DEFAULT.test(name)) expect([name, ok]).toEqual([name, false]);
            checked++;
          }
        }
    expect(checked).toBeGreaterThan(5000);
  });

  it.each([undefined, null, 42, ['el7_osg35'], { name: 'el7_osg35' }])('refuses non-string %j', (name) => {
    expect(() => checkSiteName(name)).toThrow(expect.objectContaining({ code: 'INVALID_SITE_NAME' }));
  });

  it('names the given field', () => {
    expect(() => checkSiteName('a/b', 'site')).toThrow(expect.objectContaining({ code: 'INVALID_SITE_NAME', field: 'site' }));
  });
});

describe('the {site} path parameter pipes', () => {
  const outcome = (pipe: typeof SiteNamePipe, value: string) => {
    try {
      return { value: pipe.transform(value, { type: 'param' }) as string };
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      return { code: e.code, field: e.field, message: e.message };
    }
  };
  const credential = {
    code: 'INVALID_SITE_NAME',
    field: 'site',
    message: 'site is shaped like a credential (an API key, ticket or token), not a name; nothing of it is kept',
  };

  it.each<[string, string, typeof SiteNamePipe, object]>([
    // the full rule where a token or key is made, the plain-name rule for a lookup
    ['make', 'ce1', SiteNamePipe, { value: 'ce1' }],
    ['make', 'a b', SiteNamePipe, { code: 'INVALID_SITE_NAME', field: 'site' }],
    ['make', 'ce.sh', SiteNamePipe, { code: 'SITE_NAME_HIDDEN_BY_CONDOR', field: 'site' }],
    ['make', 'ce_v2', SiteNamePipe, { code: 'INVALID_SITE_NAME', field: 'site' }],
    ['make', 'f'.repeat(40), SiteNamePipe, credential],
    ['lookup', 'ce.sh', SiteLookupPipe, { value: 'ce.sh' }],
    ['lookup', 'ce_v2', SiteLookupPipe, { value: 'ce_v2' }],
    ['lookup', 'a b', SiteLookupPipe, { code: 'INVALID_SITE_NAME', field: 'site', message: 'site must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' }],
    ['lookup', 'f'.repeat(40), SiteLookupPipe, credential],
  ])('%s %j', (_kind, value, pipe, expected) => {
    expect(outcome(pipe, value)).toMatchObject(expected);
  });
});
