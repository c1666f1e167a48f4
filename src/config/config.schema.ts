import { hostname } from 'node:os';
import { z } from 'zod';
import { CommandLineError, splitCommandLine } from '../common/command-line.js';

const boolish = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'off'].includes(s)) return false;
  return v;
}, z.boolean());

const csv = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : v,
    z.array(item),
  );

/** HTCondor TRUST_DOMAIN values are matched verbatim by clients: no whitespace or commas. */
const trustDomain = z.string().regex(/^[^\s,"\\]{1,255}$/, 'must be 1-255 characters without spaces, commas, quotes or backslashes');
/** A GlideinWMS frontend group name: it becomes part of a file name (`<group>.<site>.idtoken`) and of the ClientName `<frontend>.<group>`. */
export const GWMS_GROUP = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const gwmsGroup = z.string().regex(GWMS_GROUP, 'each group must be 1-64 letters, digits, "_" or "-", starting with a letter or digit');
const seconds = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** A command line split into argv as a shell would split words; the message never quotes it. */
const commandLine = z.string().transform((line, ctx) => {
  try {
    return splitCommandLine(line);
  } catch (err) {
    if (!(err instanceof CommandLineError)) throw err;
    ctx.addIssue({ code: 'custom', message: `${err.message} (it is split into words like a shell would, but run without one)` });
    return z.NEVER;
  }
});

/** The oldest a kept tokens.d file may get: GlideinWMS re-mints (or, without a key, reads anyway) past 3600 s; 10 minutes to spare. */
export const GWMS_MAX_FILE_AGE_SECONDS = 3000;

export const ROLES = ['frontend', 'factory'] as const;
export type ServiceRole = (typeof ROLES)[number];

/**
 * The one place every default is stated (README's Configuration table and config/default.yaml are
 * checked against it by tests). Each section is `.prefault({})`: a missing section is parsed as `{}`,
 * so its fields' own defaults apply (zod 4's `.default(v)` would return `v` as it is, unparsed).
 */
export const configSchema = z
  .object({
    port: z.coerce.number().int().min(0).max(65535).default(8080),
    host: z.string().min(1).default('127.0.0.1'),
    dataDir: z.string().min(1).default('./data'),
    roles: csv(z.enum(ROLES))
      .pipe(z.array(z.enum(ROLES)).min(1))
      .default(['frontend', 'factory']),
    trustDomain: trustDomain.default(() => hostname()),
    masterKeyFile: z.string().min(1).optional(),
    database: z
      .object({
        url: z
          .string()
          .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// URL (leave unset for the embedded SQLite default)')
          .optional(),
        sqliteSynchronous: z.enum(['FULL', 'NORMAL']).default('FULL'),
      })
      .strict()
      .prefault({}),
    frontend: z
      .object({
        name: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,254}$/, 'must be a host-like name')
          .default(() => hostname()),
        passwordsDir: z.string().min(1).optional(),
        revocationFile: z.string().min(1).optional(),
        /** Run (without a shell) after glidekey changes the collector's files, e.g. `condor_reconfig -daemon collector`. */
        reloadCommand: commandLine.optional(),
        /** Changes within this long of each other share one run of reloadCommand; retries wait 2, 4, 8 ... times this. */
        reloadDebounceMs: z.coerce.number().int().min(0).max(600_000).default(1000),
        /** A run of reloadCommand still going after this long is killed and counts as failed. */
        reloadTimeoutSeconds: seconds(1, 3600).default(30),
      })
      .strict()
      .prefault({}),
    gwms: z
      .object({
        frontend: z
          .object({
            /** The GlideinWMS frontend user's tokens.d (`~/tokens.d`): glidekey keeps `<group>.<site>.idtoken` there; unset: off. */
            tokensDir: z.string().min(1).optional(),
            /** The frontend groups (frontend.xml `<group name=...>`) every site's files are kept for, unless the site names its own. */
            groups: csv(gwmsGroup).pipe(z.array(gwmsGroup).min(1)).default(['main']),
            /** A kept file is rewritten at least this often, so its mtime stays inside the frontend's one-hour reuse window. */
            refreshSeconds: seconds(1, 3000).default(1200),
            /** Where each usable stored SciToken is kept as `<name>.scitoken` (frontend.xml `absfname`); unset: off. */
            scitokensDir: z.string().min(1).optional(),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    forwarding: z
      .object({
        /** A credential with less than this left is never forwarded (GlideinWMS kept sending stale tokens). */
        minLifetimeSeconds: seconds(0, 31_536_000).default(300),
        /** Backoff after a failed delivery: base * 2^(attempts-1), capped, with jitter. */
        retryBaseSeconds: seconds(1, 3600).default(2),
        retryMaxSeconds: seconds(1, 86_400).default(600),
        /** One HTTP call to a factory (entries or an envelope). */
        requestTimeoutSeconds: seconds(1, 300).default(15),
        /** Allow http:// factory URLs off loopback: the API key in each request's header would cross the network in clear. */
        allowHttp: boolish.default(false),
        /** After an identity rotation, the previous key is kept (to prove the new one to factories) at most this long. */
        identityTransitionSeconds: seconds(60, 31_536_000).default(2_592_000),
      })
      .strict()
      .prefault({}),
    factory: z
      .object({
        /** GlideinWMS's client-proxies directory; unset: the cache lives in the database only. */
        cacheDir: z.string().min(1).optional(),
        /** The factory's glidein instance name: files go under user_<frontend>/glidein_<instanceName>/. */
        instanceName: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be a plain name')
          .default('gfactory_instance'),
        /** Envelopes created further than this from now (either way) are refused; ids are remembered twice as long. */
        envelopeWindowSeconds: seconds(10, 86_400).default(300),
        /** A cached credential with less than this left is `expiring`. */
        expiringSeconds: seconds(0, 31_536_000).default(3600),
      })
      .strict()
      .prefault({}),
    tickets: z
      .object({
        /** Longest ticket life: glideins may wait in a batch queue for days. */
        maxTtlSeconds: seconds(60, 31_536_000).default(604_800),
        defaultTtlSeconds: seconds(60, 31_536_000).default(604_800),
        /** Most tickets one request may issue. */
        maxCount: seconds(1, 100_000).default(10_000),
        /** A cached IDTOKEN with less than this left is not handed out: 503 CREDENTIAL_STALE, ticket kept. */
        minTokenLifetimeSeconds: seconds(0, 31_536_000).default(600),
        /** Failed fetches allowed per client address per window before 429; valid tickets are never throttled. */
        failureLimit: seconds(1, 1_000_000).default(20),
        failureWindowSeconds: seconds(1, 86_400).default(60),
        /** An address over the failure limit gets this many lookups a second; the rest are 429 before any database work. */
        limitedLookupsPerSecond: seconds(0, 1000).default(5),
        /** A glidein renews its credentials for at most this long after its bootstrap (an entry's maxPilotLifeSeconds overrides it). */
        maxPilotLifeSeconds: seconds(60, 31_536_000).default(604_800),
        /** A replaced renewal credential is taken once more for this long, while its successor was never used (a lost answer). */
        renewalGraceSeconds: seconds(0, 3600).default(60),
        /** Renewal chains one cached IDTOKEN version may start for its entry (glideinBootstrap 'token'): bounds what a leaked token adds. */
        maxTokenBootstraps: seconds(1, 100_000_000).default(100_000),
      })
      .strict()
      .prefault({}),
    /** How long ledger rows (by expiry) and audit lines are kept before `glidekey prune` may archive and remove them; unset keeps them for ever. */
    retention: z
      .object({ ledgerDays: seconds(30, 36_500).optional(), auditDays: seconds(30, 36_500).optional() })
      .strict()
      .prefault({}),
    scheduler: z
      .object({ tickSeconds: seconds(1, 3600).default(60) })
      .strict()
      .prefault({}),
    tokens: z
      .object({
        defaultLifetimeSeconds: seconds(60, 31_536_000).default(86_400),
        maxLifetimeSeconds: seconds(60, 31_536_000).default(604_800),
        /** A site's current token is re-minted when less than this fraction of its lifetime is left. */
        renewFraction: z.coerce.number().min(0.05).max(0.95).default(0.5),
      })
      .strict()
      .prefault({}),
    limits: z
      .object({
        /** List routes (GET /tokens, /audit, /deliveries, /factories, /factory/cache, /apikeys ...) a second, shared by all callers; more wait their turn. */
        listRequestsPerSecond: z.coerce.number().int().min(1).max(10_000).default(50),
        /** /metrics requests a second, shared by all scrapers (a Prometheus scrapes every 15-60 s). */
        metricsRequestsPerSecond: z.coerce.number().int().min(1).max(10_000).default(10),
        /** Requests that may wait their turn per kind; more get 429 RATE_LIMITED. */
        pacedQueue: z.coerce.number().int().min(0).max(100_000).default(200),
      })
      .strict()
      .prefault({}),
    revocation: z
      .object({
        /**
         * Ceilings of SEC_TOKEN_REVOCATION_EXPR: jtis in its identicalMember list (100,000 parsed and
         * evaluated at a real collector) and distinct revoked subjects (a balanced tree, 1,000 shown
         * correct in the model). A revocation past either is refused with REVOCATION_LIMIT.
         */
        maxJtis: z.coerce.number().int().min(1).max(100_000).default(100_000),
        maxSubjects: z.coerce.number().int().min(1).max(100_000).default(1_000),
      })
      .strict()
      .prefault({}),
    scitokens: z
      .object({
        /**
         * A SciToken is `expiring` in the last fraction of its lifetime (exp minus iat, else nbf,
         * else the time it was stored): WLCG tokens live hours, so no fixed span suits them all.
         */
        expiringFraction: z.coerce.number().gt(0).lt(1).default(0.2),
        /** Set: a SciToken with less than this left is `expiring`, whatever its lifetime (expiringFraction is then unused). */
        expiringSeconds: seconds(60, 31_536_000).optional(),
        /** Directories SciToken source files may be followed in (htgettoken, credmon output); none: no following. */
        sourceDirs: csv(z.string().min(1)).default([]),
        /** A JSON file of trusted issuers, `{ "<id>": { "issuer": "...", "jwks": { "keys": [...] } } }`, loaded at start. */
        issuersFile: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    tls: z
      .object({ cert: z.string().min(1).optional(), key: z.string().min(1).optional() })
      .strict()
      .prefault({}),
    metrics: z
      .object({
        /** Serve /metrics without an API key. Off by default: the figures name sites and entries. */
        public: boolish.default(false),
        /** Database-backed gauges are recomputed at most once per this (0: on every scrape). */
        cacheSeconds: seconds(0, 300).default(5),
      })
      .strict()
      .prefault({}),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.tokens.defaultLifetimeSeconds > c.tokens.maxLifetimeSeconds) {
      ctx.addIssue({ code: 'custom', path: ['tokens', 'defaultLifetimeSeconds'], message: 'must not exceed tokens.maxLifetimeSeconds' });
    }
    if (c.tickets.defaultTtlSeconds > c.tickets.maxTtlSeconds) {
      ctx.addIssue({ code: 'custom', path: ['tickets', 'defaultTtlSeconds'], message: 'must not exceed tickets.maxTtlSeconds' });
    }
    if (c.forwarding.retryBaseSeconds > c.forwarding.retryMaxSeconds) {
      ctx.addIssue({ code: 'custom', path: ['forwarding', 'retryBaseSeconds'], message: 'must not exceed forwarding.retryMaxSeconds' });
    }
    if (c.gwms.frontend.tokensDir && c.gwms.frontend.refreshSeconds + c.scheduler.tickSeconds > GWMS_MAX_FILE_AGE_SECONDS) {
      // A file is refreshed on the first tick after refreshSeconds: its age peaks near their sum, which must stay well inside GlideinWMS's 3600 s.
      ctx.addIssue({
        code: 'custom',
        path: ['gwms', 'frontend', 'refreshSeconds'],
        message: `with scheduler.tickSeconds must add up to at most ${GWMS_MAX_FILE_AGE_SECONDS} (GlideinWMS reuses a token file for 3600 s)`,
      });
    }
    if (Boolean(c.tls.cert) !== Boolean(c.tls.key)) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'tls.cert and tls.key must be set together' });
    }
  });

export type AppConfig = z.infer<typeof configSchema>;
