import { CONDOR_VERSION, EntryDescription, idtokenFor, parseAuthMethod, parseCondorVersion, scitokenFor } from './matching.js';

const entry = (over: Partial<EntryDescription>): EntryDescription => ({ site: 'el7_osg35', trustDomain: 'OSG', authMethod: 'scitoken', condorVersion: '23.0.3', ...over });
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
    expect(d).toEqual({ send: false, reason: 'site Somewhere_Else is not one of this frontend\'s sites' });
  });

  it('parses version and auth-method strings as GlideinWMS writes them', () => {
    expect(parseCondorVersion('23.0.3')).toEqual([23, 0, 3]);
    expect(parseCondorVersion('8.9')).toEqual([8, 9, 0]);
    expect(parseAuthMethod('grid_proxy+project_id,scitoken')).toEqual([['grid_proxy', 'project_id'], ['scitoken']]);
    expect(parseAuthMethod(' SciToken + project_id ')).toEqual([['scitoken', 'project_id']]);
  });

  const TOKENS = [
    { name: 'osg-b', trustDomain: 'OSG', securityClass: null },
    { name: 'osg-a', trustDomain: 'OSG', securityClass: null },
    { name: 'cms-prod', trustDomain: 'CMS', securityClass: 'production' },
  ];

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
});
