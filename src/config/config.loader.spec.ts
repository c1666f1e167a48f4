import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAll as loadAllYaml } from 'js-yaml';
import { ConfigError, envName, loadConfig, PROJECT_ROOT } from './config.loader.js';
import { configSchema } from './config.schema.js';

describe(loadConfig.name, () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gk-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  /** The ConfigError that loadConfig throws for this env. */
  const configError = (env: NodeJS.ProcessEnv): ConfigError => {
    try {
      loadConfig(env);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return err as ConfigError;
    }
    throw new Error('expected a ConfigError');
  };

  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.host).toBe('127.0.0.1');
    expect(c.roles).toEqual(['frontend', 'factory']);
    expect(c.tokens).toEqual({ defaultLifetimeSeconds: 86400, maxLifetimeSeconds: 604800, renewFraction: 0.5 });
    expect(c.metrics).toEqual({ public: false, cacheSeconds: 5 });
    expect(c.scheduler.tickSeconds).toBe(60);
    expect(c.database.url).toBeUndefined();
    expect(c.masterKeyFile).toBeUndefined();
  });

  it('makes SciTokens expiring in the last fifth of their lifetime unless an absolute span is set', () => {
    expect(loadConfig({}).scitokens).toEqual({ expiringFraction: 0.2, sourceDirs: [] });
    expect(loadConfig({ GLIDEKEY_SCITOKENS_EXPIRING_FRACTION: '0.1', GLIDEKEY_SCITOKENS_EXPIRING_SECONDS: '3600' }).scitokens).toMatchObject({
      expiringFraction: 0.1,
      expiringSeconds: 3600,
    });
    for (const bad of ['0', '1', '1.5', '-0.2', 'a fifth']) {
      expect(configError({ GLIDEKEY_SCITOKENS_EXPIRING_FRACTION: bad }).message).toContain(
        'scitokens.expiringFraction (env GLIDEKEY_SCITOKENS_EXPIRING_FRACTION)',
      );
    }
    expect(configError({ GLIDEKEY_SCITOKENS_EXPIRING_SECONDS: '10' }).message).toContain('scitokens.expiringSeconds (env GLIDEKEY_SCITOKENS_EXPIRING_SECONDS)');
  });

  it('applies GLIDEKEY_* overrides, nested ones included', () => {
    const c = loadConfig({
      GLIDEKEY_PORT: '9618',
      GLIDEKEY_SCHEDULER_TICK_SECONDS: '5',
      GLIDEKEY_FRONTEND_PASSWORDS_DIR: '/etc/condor/passwords.d',
      GLIDEKEY_ROLES: 'factory',
      GLIDEKEY_METRICS_PUBLIC: 'false',
      GLIDEKEY_TRUST_DOMAIN: 'collector.example.org:9618',
      GLIDEKEY_DATABASE_URL: 'postgres://glidekey@db/glidekey',
    });
    expect(c.port).toBe(9618);
    expect(c.scheduler.tickSeconds).toBe(5);
    expect(c.frontend.passwordsDir).toBe('/etc/condor/passwords.d');
    expect(c.roles).toEqual(['factory']);
    expect(c.metrics.public).toBe(false);
    expect(c.trustDomain).toBe('collector.example.org:9618');
    expect(c.database).toEqual({ url: 'postgres://glidekey@db/glidekey', sqliteSynchronous: 'FULL' });
  });

  it('maps setting paths to env names', () => {
    expect(envName(['frontend', 'passwordsDir'])).toBe('GLIDEKEY_FRONTEND_PASSWORDS_DIR');
    expect(envName(['scheduler', 'tickSeconds'])).toBe('GLIDEKEY_SCHEDULER_TICK_SECONDS');
    expect(envName(['port'])).toBe('GLIDEKEY_PORT');
  });

  it('merges a YAML file named by GLIDEKEY_CONFIG; env still wins', () => {
    const p = file('glidekey.yaml', 'port: 9000\nhost: 0.0.0.0\nscheduler:\n  tickSeconds: 30\nfrontend:\n  passwordsDir: /from/file\n');
    const c = loadConfig({ GLIDEKEY_CONFIG: p, GLIDEKEY_PORT: '9100' });
    expect(c.port).toBe(9100);
    expect(c.host).toBe('0.0.0.0');
    expect(c.scheduler.tickSeconds).toBe(30);
    expect(c.frontend.passwordsDir).toBe('/from/file');
    expect(c.tokens.defaultLifetimeSeconds).toBe(86400);
  });

  it('merges a JSON file named by GLIDEKEY_CONFIG; env still wins', () => {
    const p = file('glidekey.json', JSON.stringify({ host: '::1', roles: ['frontend'], metrics: { public: false }, tokens: { maxLifetimeSeconds: 172800 } }));
    const c = loadConfig({ GLIDEKEY_CONFIG: p, GLIDEKEY_METRICS_PUBLIC: 'true' });
    expect(c.host).toBe('::1');
    expect(c.roles).toEqual(['frontend']);
    expect(c.metrics.public).toBe(true);
    expect(c.tokens).toEqual({ defaultLifetimeSeconds: 86400, maxLifetimeSeconds: 172800, renewFraction: 0.5 });
  });

  it.each([
    [{ GLIDEKEY_PORT: 'abc' }, 'port', 'GLIDEKEY_PORT'],
    [{ GLIDEKEY_PORT: '70000' }, 'port', 'GLIDEKEY_PORT'],
    [{ GLIDEKEY_SCHEDULER_TICK_SECONDS: '0' }, 'scheduler.tickSeconds', 'GLIDEKEY_SCHEDULER_TICK_SECONDS'],
    [{ GLIDEKEY_METRICS_PUBLIC: 'maybe' }, 'metrics.public', 'GLIDEKEY_METRICS_PUBLIC'],
    [{ GLIDEKEY_TRUST_DOMAIN: 'a b' }, 'trustDomain', 'GLIDEKEY_TRUST_DOMAIN'],
    [{ GLIDEKEY_TRUST_DOMAIN: 'a,b' }, 'trustDomain', 'GLIDEKEY_TRUST_DOMAIN'],
  ])('refuses %j naming the setting and its variable', (env, setting, variable) => {
    const message = configError(env).message;
    expect(message).toContain(`${setting} (env ${variable})`);
  });

  it('refuses an unknown GLIDEKEY_* variable as it refuses an unknown YAML key, with a did-you-mean and never its value', () => {
    const message = configError({ GLIDEKEY_PORTT: '9618', GLIDEKEY_FRONTEND_PASSWORD_DIR: 'SecretPath', GLIDEKEY_NOTHING_LIKE_ANY: 'x' }).message;
    expect(message).toBe(
      'invalid configuration:\n' +
        '  GLIDEKEY_FRONTEND_PASSWORD_DIR: unknown environment variable (did you mean GLIDEKEY_FRONTEND_PASSWORDS_DIR?)\n' +
        '  GLIDEKEY_NOTHING_LIKE_ANY: unknown environment variable\n' +
        '  GLIDEKEY_PORTT: unknown environment variable (did you mean GLIDEKEY_PORT?)',
    );
    // Listed together with the settings' own errors.
    expect(configError({ GLIDEKEY_PORT: 'abc', GLIDEKEY_PORTT: '1' }).message).toMatch(/port \(env GLIDEKEY_PORT\): .*\n {2}GLIDEKEY_PORTT: unknown/);
  });

  it('accepts the GLIDEKEY_* variables that the CLI, the glidein script and the tests read', () => {
    expect(() =>
      loadConfig({
        GLIDEKEY_URL: 'https://glidekey.example.org:8443',
        GLIDEKEY_API_KEY_FILE: '/root/.glidekey/key',
        GLIDEKEY_TICKET: 'gkt_x',
        GLIDEKEY_CA_BUNDLE: '/etc/pki/ca.pem',
        GLIDEKEY_RENEW_IN: '60',
        GLIDEKEY_TEST_POSTGRES_URL: 'postgres://postgres@127.0.0.1/postgres',
      }),
    ).not.toThrow();
  });

  it('reads the GlideinWMS frontend files settings, and keeps a tokens.d file younger than the frontend reuses it', () => {
    expect(loadConfig({}).gwms.frontend).toEqual({ groups: ['main'], refreshSeconds: 1200 });
    const c = loadConfig({
      GLIDEKEY_GWMS_FRONTEND_TOKENS_DIR: '/var/lib/gwms-frontend/tokens.d',
      GLIDEKEY_GWMS_FRONTEND_GROUPS: 'main, cms_t1',
      GLIDEKEY_GWMS_FRONTEND_SCITOKENS_DIR: '/x',
    });
    expect(c.gwms.frontend).toEqual({ tokensDir: '/var/lib/gwms-frontend/tokens.d', groups: ['main', 'cms_t1'], refreshSeconds: 1200, scitokensDir: '/x' });
    expect(configError({ GLIDEKEY_GWMS_FRONTEND_GROUPS: 'main,a.b' }).message).toContain('(env GLIDEKEY_GWMS_FRONTEND_GROUPS)');
    expect(configError({ GLIDEKEY_GWMS_FRONTEND_GROUPS: ' , ' }).message).toContain('(env GLIDEKEY_GWMS_FRONTEND_GROUPS)');
    const tooSlow = { GLIDEKEY_GWMS_FRONTEND_TOKENS_DIR: '/t', GLIDEKEY_GWMS_FRONTEND_REFRESH_SECONDS: '2950', GLIDEKEY_SCHEDULER_TICK_SECONDS: '60' };
    expect(configError(tooSlow).message).toContain(
      'gwms.frontend.refreshSeconds (env GLIDEKEY_GWMS_FRONTEND_REFRESH_SECONDS): with scheduler.tickSeconds must add up to at most 3000',
    );
    expect(() => loadConfig({ ...tooSlow, GLIDEKEY_SCHEDULER_TICK_SECONDS: '50' })).not.toThrow();
  });

  it('names GLIDEKEY_ROLES (not a per-item variable) for a bad role', () => {
    const message = configError({ GLIDEKEY_ROLES: 'frontend,bogus' }).message;
    expect(message).toContain('roles');
    expect(message).toContain('(env GLIDEKEY_ROLES)');
  });

  it('never echoes a secret value', () => {
    const message = configError({ GLIDEKEY_DATABASE_URL: 'mysql://u:SuperSecret123@h/db' }).message;
    expect(message).toContain('database.url (env GLIDEKEY_DATABASE_URL)');
    expect(message).not.toContain('SuperSecret123');
  });

  it('splits frontend.reloadCommand into argv, with its timing defaults; unset by default', () => {
    expect(loadConfig({}).frontend).toMatchObject({ reloadDebounceMs: 1000, reloadTimeoutSeconds: 30 });
    expect(loadConfig({}).frontend.reloadCommand).toBeUndefined();
    const c = loadConfig({ GLIDEKEY_FRONTEND_RELOAD_COMMAND: `condor_reconfig -daemon collector -name 'c 1'` });
    expect(c.frontend.reloadCommand).toEqual(['condor_reconfig', '-daemon', 'collector', '-name', 'c 1']);
  });

  it.each([`sudo -p 'Hunter2Secret condor_reconfig`, 'x "Hunter2Secret', 'x Hunter2Secret && y', 'x Hunter2Secret\\'])(
    'refuses the reload command %s, naming the setting, never its value',
    (line) => {
      const message = configError({ GLIDEKEY_FRONTEND_RELOAD_COMMAND: line }).message;
      expect(message).toContain('frontend.reloadCommand (env GLIDEKEY_FRONTEND_RELOAD_COMMAND)');
      expect(message).not.toContain('Hunter2Secret');
    },
  );

  it('refuses unknown settings in the GLIDEKEY_CONFIG file', () => {
    expect(configError({ GLIDEKEY_CONFIG: file('a.yaml', 'port: 8080\nbogusSetting: 1\n') }).message).toContain('unknown setting(s) bogusSetting');
    expect(configError({ GLIDEKEY_CONFIG: file('b.json', '{"database":{"pasword":"x"}}') }).message).toContain('unknown setting(s) pasword');
  });

  it('reads a YAML file of only comments, or an empty one, as no settings (config/default.yaml is one)', () => {
    const defaults = configSchema.parse({});
    expect(loadAllYaml(readFileSync(join(PROJECT_ROOT, 'config', 'default.yaml'), 'utf8'))).toEqual([]);
    expect(loadConfig({})).toStrictEqual(defaults);
    expect(loadConfig({ GLIDEKEY_CONFIG: file('comments.yaml', '# port: 9090\n#   nothing set\n') })).toStrictEqual(defaults);
    expect(loadConfig({ GLIDEKEY_CONFIG: file('empty.yaml', '') })).toStrictEqual(defaults);
    expect(loadConfig({ GLIDEKEY_CONFIG: file('comments.yaml', '# port: 9090\n'), GLIDEKEY_PORT: '9091' }).port).toBe(9091);
  });

  it('refuses a GLIDEKEY_CONFIG file that does not exist or is not a mapping', () => {
    expect(configError({ GLIDEKEY_CONFIG: join(dir, 'missing.yaml') }).message).toContain('does not exist');
    expect(configError({ GLIDEKEY_CONFIG: file('list.yaml', '- a\n- b\n') }).message).toContain('must hold a mapping');
    expect(configError({ GLIDEKEY_CONFIG: file('two.yaml', 'port: 1\n---\nport: 2\n') }).message).toContain('holds 2 YAML documents; it must hold one');
  });

  it('refuses a malformed GLIDEKEY_CONFIG file with a ConfigError that does not echo its content', () => {
    expect(configError({ GLIDEKEY_CONFIG: file('bad.json', '{"port": 8080,}') }).message).toContain('bad.json');
    // js-yaml's own message quotes the offending lines, password included.
    const yaml = configError({ GLIDEKEY_CONFIG: file('bad.yaml', 'database:\n  url: "postgres://u:S3cr3t@h/db\n  bad: [\n') });
    expect(yaml.message).toContain('bad.yaml');
    expect(yaml.message).not.toContain('S3cr3t');
  });
});

describe('blank environment variables', () => {
  it('treats a blank or whitespace-only variable as unset', () => {
    expect(loadConfig({ GLIDEKEY_PORT: '   ', GLIDEKEY_HOST: '' }).port).toBe(8080);
    expect(loadConfig({ GLIDEKEY_PORT: ' 9090 ' }).port).toBe(9090);
  });
});
