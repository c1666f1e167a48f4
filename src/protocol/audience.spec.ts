import { audienceMatch, gatekeeperEndpoints, SCITOKENS_ANY, WLCG_ANY } from './audience.js';

const CE = 'ce1.unl.edu ce1.unl.edu:9619'; // GlideinWMS's HTCondor-CE form: schedd name, collector host:port
const HOST_PORT = 'ce1.unl.edu:9619';
const HOST = 'ce1.unl.edu';
const ARC = 'https://arc1.example.org:443/arex';
const ARC_NO_PORT = 'https://arc1.example.org/arex';
const IP = '192.0.2.10:9619';
const V6 = '[2001:db8::10]:9619';
const UPPER = 'CE1.UNL.EDU CE1.UNL.EDU:9619';

describe('SciToken audience matching', () => {
  // gatekeeper, aud, profile, expected: 'ce' (names the CE), 'any' (the profile's "any"), null (the CE refuses it)
  it.each<[string, string[] | null, string, 'ce' | 'any' | null]>([
    // host, host:port
    [CE, ['ce1.unl.edu:9619'], 'wlcg', 'ce'],
    [CE, ['ce1.unl.edu'], 'wlcg', 'ce'],
    [CE, ['ce1.unl.edu:9618'], 'wlcg', null],
    [CE, ['ce2.unl.edu:9619'], 'wlcg', null],
    [CE, ['unl.edu'], 'wlcg', null],
    [CE, ['ce1.unl.edu.evil.org'], 'wlcg', null],
    [HOST_PORT, ['ce1.unl.edu:9619'], 'scitokens2', 'ce'],
    [HOST_PORT, ['ce1.unl.edu'], 'scitokens2', 'ce'],
    [HOST_PORT, ['ce1.unl.edu:09619'], 'wlcg', null],
    // The gatekeeper names no port: an aud with a port may be another service of that host.
    [HOST, ['ce1.unl.edu'], 'wlcg', 'ce'],
    [HOST, ['ce1.unl.edu:9619'], 'wlcg', null],
    [HOST, ['https://ce1.unl.edu'], 'wlcg', 'ce'],
    // https URLs, with and without port and path
    [CE, ['https://ce1.unl.edu:9619'], 'wlcg', 'ce'],
    [CE, ['https://ce1.unl.edu'], 'wlcg', 'ce'],
    [CE, ['https://ce1.unl.edu:443'], 'wlcg', null],
    [CE, ['https://ce1.unl.edu:9619/'], 'wlcg', null], // a trailing slash is a path: the CE compares exactly
    [CE, ['https://ce1.unl.edu/path'], 'wlcg', null],
    [CE, ['http://ce1.unl.edu:9619'], 'wlcg', null],
    [CE, ['HTTPS://ce1.unl.edu:9619'], 'wlcg', null],
    [CE, ['condor://ce1.unl.edu:9619'], 'wlcg', null],
    [CE, ['https://ce1.unl.edu:9619?x=1'], 'wlcg', null],
    [ARC, ['https://arc1.example.org:443/arex'], 'wlcg', 'ce'],
    [ARC, ['https://arc1.example.org'], 'wlcg', 'ce'],
    [ARC, ['https://arc1.example.org:443'], 'wlcg', 'ce'],
    [ARC, ['arc1.example.org:443'], 'wlcg', 'ce'],
    [ARC, ['https://arc1.example.org/arex/'], 'wlcg', null],
    [ARC, ['https://arc1.example.org/other'], 'wlcg', null],
    [ARC_NO_PORT, ['https://arc1.example.org:443/arex'], 'wlcg', 'ce'],
    [ARC_NO_PORT, ['https://arc1.example.org:8443/arex'], 'wlcg', null],
    // "any" forms: exact string, and only the one of the token's profile (scitokens-cpp aud_validator)
    [CE, [WLCG_ANY], 'wlcg', 'any'],
    [CE, [SCITOKENS_ANY], 'scitokens2', 'any'],
    [CE, [SCITOKENS_ANY], 'wlcg', null],
    [CE, [WLCG_ANY], 'scitokens2', null],
    [CE, ['any'], 'scitokens2', null],
    [CE, ['Any'], 'scitokens2', null],
    [CE, [`${WLCG_ANY}/`], 'wlcg', null],
    [CE, ['https://WLCG.cern.ch/jwt/v1/any'], 'wlcg', null],
    [CE, ['http://wlcg.cern.ch/jwt/v1/any'], 'wlcg', null],
    [CE, [WLCG_ANY], 'unknown', null],
    // several audiences: one naming the CE is enough, and beats "any"
    [CE, ['ce2.unl.edu:9619', 'ce1.unl.edu:9619'], 'wlcg', 'ce'],
    [CE, [WLCG_ANY, 'ce1.unl.edu:9619'], 'wlcg', 'ce'],
    [CE, ['ce2.unl.edu:9619', WLCG_ANY], 'wlcg', 'any'],
    [CE, ['ce2.unl.edu:9619', 'https://ce3.unl.edu'], 'wlcg', null],
    // none: scitokens-cpp refuses WLCG and SciTokens 2.0 tokens without aud
    [CE, [], 'wlcg', null],
    [CE, null, 'wlcg', null],
    [CE, [''], 'wlcg', null],
    // IP addresses: the literal the gatekeeper names, nothing resolved
    [IP, ['192.0.2.10:9619'], 'wlcg', 'ce'],
    [IP, ['192.0.2.10'], 'wlcg', 'ce'],
    [IP, ['192.0.2.11:9619'], 'wlcg', null],
    [IP, ['https://192.0.2.10:9619'], 'wlcg', 'ce'],
    [V6, ['[2001:db8::10]:9619'], 'wlcg', 'ce'],
    [V6, ['2001:db8::10'], 'wlcg', null],
    // case: the gatekeeper is a DNS name (any case); the aud is compared as the CE compares it, exactly, with the lower-case host it lists
    [UPPER, ['ce1.unl.edu:9619'], 'wlcg', 'ce'],
    [CE, ['CE1.UNL.EDU:9619'], 'wlcg', null],
    [CE, ['https://Ce1.unl.edu:9619'], 'wlcg', null],
    // a gatekeeper that names no host: only "any"
    ['', ['ce1.unl.edu'], 'wlcg', null],
    ['not a host!', [WLCG_ANY], 'wlcg', 'any'],
  ])('gatekeeper %p, aud %p (%s): %p', (gatekeeper, aud, profile, expected) => {
    expect(audienceMatch(aud, profile, gatekeeper)).toBe(expected);
  });

  it.each([
    [
      CE,
      [
        { host: 'ce1.unl.edu', port: null, path: '' },
        { host: 'ce1.unl.edu', port: 9619, path: '' },
      ],
    ],
    [
      UPPER,
      [
        { host: 'ce1.unl.edu', port: null, path: '' },
        { host: 'ce1.unl.edu', port: 9619, path: '' },
      ],
    ],
    [ARC_NO_PORT, [{ host: 'arc1.example.org', port: 443, path: '/arex' }]],
    ['HTTPS://Arc1.Example.org:8443', [{ host: 'arc1.example.org', port: 8443, path: '' }]],
    [V6, [{ host: '[2001:db8::10]', port: 9619, path: '' }]],
    ['ce1.unl.edu:0', []],
    ['ce1.unl.edu:70000', []],
    ['-bad.example.org', []],
    ['ce_1.example.org', []],
  ])('reads gatekeeper %p as its CE addresses', (gatekeeper, endpoints) => {
    expect(gatekeeperEndpoints(gatekeeper)).toEqual(endpoints);
  });
});
