import { WLCG_ANY } from './audience.js';
import { CONDOR_VERSION, EntryDescription, idtokenFor, parseAuthMethod, parseCondorVersion, SciTokenLabel, sciTokenLabel, scitokenFor } from './matching.js';

const entry = (over: Partial<EntryDescription>): EntryDescription => ({
  site: 'el7_osg35',
  trustDomain: 'OSG',
  authMethod: 'scitoken',
  condorVersion: '23.0.3',
  gatekeeper: 'ce1.unl.edu ce1.unl.edu:9619',
  ...over,
});
const SITES = new Set(['el7_osg35', 'CMS_T2_US_Nebraska']);

describe('entry matching', () => {
  it.each(['8.9.1', '23.0.3', '23.0', '9.0.17-1.el7', '10.0.0+git1'])('the edge takes condorVersion %s, and it parses as a version', (v) => {
    expect(CONDOR_VERSION.test(v)).toBe(true);
    expect(parseCondorVersion(v)).not.toBeNull();
  });

  it.each(['23', '1..2', '23.', '.1', 'v23.0.3', '23.0.3.', '23.0-', '23.0.3 ', 'unknown', ''])('the edge refuses condorVersion %p', (v) => {
    expect(CONDOR_VERSION.test(v)).toBe(false);
  });

  it.each([
    ['8.8.15', false, 'predates IDTOKENs'],
    ['8.9.0', false, 'predates IDTOKENs'],
    ['8.9.1', true, ''],
    ['8.9.11', true, ''],
    ['9.0.17-1.el7', true, ''],
    ['23.0.3', true, ''],
    ['24', false, 'does not say'],
    ['', false, 'does not say'],
    [null, false, 'does not say'],
    ['unknown', false, 'does not say'],
  ])('HTCondor %s gets an IDTOKEN: %s', (version, send, reason) => {
    const d = idtokenFor(entry({ condorVersion: version }), SITES);
    expect(d.send).toBe(send);
    if (!d.send) expect(d.reason).toContain(reason);
  });

  it('sends an IDTOKEN only to entries at our sites', () => {
    const d = idtokenFor(entry({ site: 'Somewhere_Else' }), SITES);
    expect(d).toEqual({ send: false, reason: "site Somewhere_Else is not one of this frontend's sites" });
  });

  it('parses version and auth-method strings as GlideinWMS writes them', () => {
    expect(parseCondorVersion('23.0.3')).toEqual([23, 0, 3]);
    expect(parseCondorVersion('8.9')).toEqual([8, 9, 0]);
    expect(parseAuthMethod('grid_proxy+project_id,scitoken')).toEqual([['grid_proxy', 'project_id'], ['scitoken']]);
    expect(parseAuthMethod(' SciToken + project_id ')).toEqual([['scitoken', 'project_id']]);
  });

  const label = (name: string, trustDomain: string, over: Partial<SciTokenLabel> = {}): SciTokenLabel => ({
    name,
    trustDomain,
    securityClass: null,
    audience: [WLCG_ANY],
    profile: 'wlcg',
    allEntries: false,
    ...over,
  });
  const TOKENS = [label('osg-b', 'OSG'), label('osg-a', 'OSG'), label('cms-prod', 'CMS', { securityClass: 'production' })];

  it.each([
    ['scitoken', 'OSG', null, 'osg-a'],
    ['grid_proxy,scitoken', 'OSG', null, 'osg-a'],
    ['scitoken+project_id', 'OSG', null, 'osg-a'],
    ['grid_proxy', 'OSG', null, null],
    ['grid_proxy+project_id', 'OSG', null, null],
    ['idtoken', 'OSG', null, null],
    ['scitoken', 'CMS', 'production', 'cms-prod'],
    ['scitoken', 'CMS', 'analysis', null],
    ['scitoken', 'CMS', null, null],
    ['scitoken', 'FNAL', null, null],
  ])('auth method %s, trust domain %s, security class %s: SciToken %s', (authMethod, trustDomain, securityClass, expected) => {
    const r = scitokenFor(entry({ authMethod, trustDomain }), TOKENS, securityClass);
    expect(r.token?.name ?? null).toBe(expected);
    if (!r.token) expect((r as { reason: string }).reason.length).toBeGreaterThan(10);
  });

  describe('SciToken audiences', () => {
    const ENTRY = entry({ gatekeeper: 'ce1.unl.edu ce1.unl.edu:9619' });

    it('an entry gets only a token whose aud names its CE or is the "any" audience, or one marked allEntries', () => {
      const other = label('a-other', 'OSG', { audience: ['ce2.unl.edu:9619'] });
      expect(scitokenFor(ENTRY, [other])).toMatchObject({ token: null, reason: expect.stringContaining('a-other (aud ce2.unl.edu:9619)') });
      expect(scitokenFor(ENTRY, [{ ...other, allEntries: true }])).toMatchObject({ token: { name: 'a-other' }, match: 'allEntries' });
      expect(scitokenFor(ENTRY, [label('mine', 'OSG', { audience: ['ce1.unl.edu:9619'] })])).toMatchObject({ token: { name: 'mine' }, match: 'ce' });
      expect(scitokenFor(ENTRY, [label('any', 'OSG')])).toMatchObject({ token: { name: 'any' }, match: 'any' });
      const none = scitokenFor(ENTRY, [label('bare', 'OSG', { audience: [] }), label('unknown', 'OSG', { audience: null })]);
      expect(none).toMatchObject({ token: null, reason: expect.stringContaining('bare (aud none), unknown (aud none)') });
      expect((none as { reason: string }).reason).toContain('gatekeeper ce1.unl.edu ce1.unl.edu:9619');
    });

    it('prefers an aud naming the CE over "any" over allEntries alone, then the alphabetically first', () => {
      const pick = (tokens: SciTokenLabel[]) => (scitokenFor(ENTRY, tokens) as { token: SciTokenLabel }).token.name;
      const exact = label('z-exact', 'OSG', { audience: ['https://ce1.unl.edu:9619'] });
      const any = label('b-any', 'OSG');
      const forced = label('a-forced', 'OSG', { audience: ['elsewhere.org'], allEntries: true });
      expect(pick([forced, any, exact])).toBe('z-exact');
      expect(pick([forced, any])).toBe('b-any');
      expect(pick([forced, label('c-forced', 'OSG', { audience: [], allEntries: true })])).toBe('a-forced');
      expect(pick([label('y-exact', 'OSG', { audience: ['ce1.unl.edu'] }), exact])).toBe('y-exact');
      // allEntries does not lower a token whose aud names the CE.
      expect(scitokenFor(ENTRY, [{ ...exact, allEntries: true }, any])).toMatchObject({ token: { name: 'z-exact' }, match: 'ce' });
    });

    it('never sends across labels or security classes, whatever the audience or allEntries', () => {
      expect(scitokenFor(entry({ trustDomain: 'CMS' }), [label('osg', 'OSG', { audience: ['ce1.unl.edu'], allEntries: true })]).token).toBeNull();
      expect(scitokenFor(ENTRY, [label('prod', 'OSG', { securityClass: 'prod', allEntries: true })], 'test').token).toBeNull();
    });

    it('reads the stored audience column; anything unreadable is no audience', () => {
      const row = { name: 'n', trustDomain: 'OSG', securityClass: null, profile: 'wlcg', allEntries: false };
      expect(sciTokenLabel({ ...row, audience: '["ce1.unl.edu"]' }).audience).toEqual(['ce1.unl.edu']);
      for (const bad of [null, 'not json', '"ce1.unl.edu"', '[1]', '{}']) expect(sciTokenLabel({ ...row, audience: bad }).audience).toBeNull();
    });
  });
});
