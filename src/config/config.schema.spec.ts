import { hostname } from 'node:os';
import { loadConfig } from './config.loader.js';
import { configSchema } from './config.schema.js';

/**
 * Every default, as `configSchema.parse({})` gave it before the defaults were stated once (in the
 * schema, each object section `.prefault({})` so that its own fields' defaults apply): written out
 * here so that a change of any default, or of which keys are present, shows as a failure.
 * The two host-name defaults are functions of the machine and are checked against os.hostname().
 */
const HOST = hostname();
const DEFAULTS = {
  port: 8080,
  host: '127.0.0.1',
  dataDir: './data',
  roles: ['frontend', 'factory'],
  trustDomain: HOST,
  database: { sqliteSynchronous: 'FULL' },
  frontend: { name: HOST, reloadDebounceMs: 1000, reloadTimeoutSeconds: 30 },
  gwms: { frontend: { groups: ['main'], refreshSeconds: 1200 } },
  forwarding: {
    minLifetimeSeconds: 300,
    retryBaseSeconds: 2,
    retryMaxSeconds: 600,
    requestTimeoutSeconds: 15,
    allowHttp: false,
    identityTransitionSeconds: 2592000,
  },
  factory: { instanceName: 'gfactory_instance', envelopeWindowSeconds: 300, expiringSeconds: 3600 },
  tickets: {
    maxTtlSeconds: 604800,
    defaultTtlSeconds: 604800,
    maxCount: 10000,
    minTokenLifetimeSeconds: 600,
    failureLimit: 20,
    failureWindowSeconds: 60,
    limitedLookupsPerSecond: 5,
    maxPilotLifeSeconds: 604800,
    renewalGraceSeconds: 60,
    maxTokenBootstraps: 100000,
  },
  retention: {},
  scheduler: { tickSeconds: 60 },
  tokens: { defaultLifetimeSeconds: 86400, maxLifetimeSeconds: 604800, renewFraction: 0.5 },
  limits: { listRequestsPerSecond: 50, metricsRequestsPerSecond: 10, pacedQueue: 200 },
  revocation: { maxJtis: 100000, maxSubjects: 1000 },
  scitokens: { expiringFraction: 0.2, sourceDirs: [] },
  tls: {},
  metrics: { public: false, cacheSeconds: 5 },
  log: { level: 'info' },
};
const SECTIONS = Object.keys(DEFAULTS).filter(
  (k) => typeof DEFAULTS[k as keyof typeof DEFAULTS] === 'object' && !Array.isArray(DEFAULTS[k as keyof typeof DEFAULTS]),
);

describe('configSchema defaults', () => {
  it('parses {} to exactly the documented defaults (no key added, dropped or changed)', () => {
    expect(configSchema.parse({})).toStrictEqual(DEFAULTS);
  });

  it('gives the host-name defaults from this host', () => {
    expect(HOST).not.toBe('');
    const c = configSchema.parse({});
    expect(c.trustDomain).toBe(hostname());
    expect(c.frontend.name).toBe(hostname());
  });

  it('fills an empty or partly given section with the same defaults as a missing one', () => {
    expect(SECTIONS).toHaveLength(15);
    for (const s of SECTIONS) expect(configSchema.parse({ [s]: {} })).toStrictEqual(DEFAULTS);
    expect(configSchema.parse({ gwms: { frontend: {} } })).toStrictEqual(DEFAULTS);
    expect(
      configSchema.parse({
        database: { url: 'postgres://a/b' },
        frontend: { passwordsDir: '/p' },
        gwms: { frontend: { tokensDir: '/t' } },
        forwarding: { allowHttp: 'true' },
        factory: { cacheDir: '/x' },
        tickets: { maxCount: '5' },
        retention: { auditDays: 40 },
        scheduler: {},
        tokens: { renewFraction: 0.3 },
        scitokens: { expiringSeconds: 3600 },
        tls: { cert: '/c', key: '/k' },
        metrics: { public: true },
        log: {},
      }),
    ).toStrictEqual({
      ...DEFAULTS,
      database: { url: 'postgres://a/b', sqliteSynchronous: 'FULL' },
      frontend: { ...DEFAULTS.frontend, passwordsDir: '/p' },
      gwms: { frontend: { tokensDir: '/t', groups: ['main'], refreshSeconds: 1200 } },
      forwarding: { ...DEFAULTS.forwarding, allowHttp: true },
      factory: { cacheDir: '/x', ...DEFAULTS.factory },
      tickets: { ...DEFAULTS.tickets, maxCount: 5 },
      retention: { auditDays: 40 },
      tokens: { ...DEFAULTS.tokens, renewFraction: 0.3 },
      scitokens: { expiringFraction: 0.2, expiringSeconds: 3600, sourceDirs: [] },
      tls: { cert: '/c', key: '/k' },
      metrics: { public: true, cacheSeconds: 5 },
    });
  });

  it('still checks the cross-field rules against the defaults of a section left out', () => {
    // tokens.defaultLifetimeSeconds above the default maxLifetimeSeconds (604800), tickets likewise.
    expect(configSchema.safeParse({ tokens: { defaultLifetimeSeconds: 700_000 } }).success).toBe(false);
    expect(configSchema.safeParse({ tickets: { defaultTtlSeconds: 700_000 } }).success).toBe(false);
    expect(configSchema.safeParse({ forwarding: { retryBaseSeconds: 601 } }).success).toBe(false);
    expect(configSchema.safeParse({ gwms: { frontend: { tokensDir: '/t', refreshSeconds: 2950 } } }).success).toBe(false);
  });

  it('is what the loader gives with no file and no variable (config/default.yaml adds nothing)', () => {
    expect(loadConfig({})).toStrictEqual(DEFAULTS);
  });
});
