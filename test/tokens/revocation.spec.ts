import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseOld, readConfig, revokes } from '../../src/tokens/old-classad.js';
import { SubjectRevocation } from '../../src/tokens/subject-revocation.entity.js';
import { TokensService } from '../../src/tokens/tokens.service.js';
import { Engine, ENGINES, startTestApp, TestApp } from '../support/app.js';
import { client, removeDir, tempDir } from '../support/service.js';

/** The expression a collector would load from the file, as the model reads it. */
function loaded(content: string) {
  const [line] = readConfig(content);
  expect(line.macros).toEqual([]);
  return parseOld(line.value);
}

/** A frontend with a revocation file, one site `rsite`, and helpers to mint and read a counter. */
function frontendWithRevocationFile(engine: Engine, env: () => Record<string, string>) {
  const ctx = {
    t: undefined as unknown as TestApp,
    api: undefined as unknown as ReturnType<typeof client>,
    confDir: tempDir('condor-config-'),
    get revocationFile() {
      return join(this.confDir, 'revocation.conf');
    },
    async mint(subject?: string) {
      const res = await ctx.api.post('/sites/rsite/tokens', subject ? { subject } : {});
      expect(res.status).toBe(201);
      return res.json as { jti: string; subject: string; issuedAt: number };
    },
    /** A counter's value, read uncached (metrics.cacheSeconds 0). */
    async metric(name: string) {
      const text = (await ctx.api.get('/../../metrics')).text as string;
      const line = text.split('\n').find((l) => l.startsWith(name));
      return line ? Number(line.split(' ').pop()) : 0;
    },
  };
  beforeAll(async () => {
    ctx.t = await startTestApp({ engine, env: { GLIDEKEY_FRONTEND_REVOCATION_FILE: ctx.revocationFile, GLIDEKEY_METRICS_CACHE_SECONDS: '0', ...env() } });
    ctx.api = client(ctx.t.api, ctx.t.adminKey);
    expect((await ctx.api.post('/sites', { name: 'rsite' })).status).toBe(201);
  });
  afterAll(async () => {
    await ctx.t.close();
    removeDir(ctx.confDir);
  });
  return ctx;
}

describe.each(ENGINES)('revocations a collector reads as meant (%s)', (engine) => {
  const f = frontendWithRevocationFile(engine, () => ({ GLIDEKEY_REVOCATION_MAX_JTIS: '3', GLIDEKEY_REVOCATION_MAX_SUBJECTS: '4' }));
  const { mint, metric } = f;
  let api: ReturnType<typeof client>;
  let t: TestApp;
  let revocationFile: string;
  beforeAll(() => {
    ({ api, t, revocationFile } = f);
  });

  it('revokes awkward subjects exactly: line feeds, tabs, C1 controls, a trailing backslash, quotes, $ forms', async () => {
    const subjects = ['ops\\', 'a\nb@fe\u009b', 'tab\there"$(FULL_HOSTNAME)$ENV(HOME)$$(X)@fe'];
    const cutoffs: number[] = [];
    for (const subject of subjects) {
      const res = await api.post('/revocations/subjects', { subject });
      expect(res.status).toBe(200);
      cutoffs.push(res.json.issuedBefore);
    }
    for (const expr of [readFileSync(revocationFile, 'utf8'), `SEC_TOKEN_REVOCATION_EXPR = ${(await api.get('/revocations/condor')).text}`]) {
      const tree = loaded(expr);
      subjects.forEach((sub, i) => {
        expect(revokes(tree, { sub, iat: cutoffs[i], jti: 'x' })).toBe(true);
        expect(revokes(tree, { sub, iat: cutoffs[i] + 1, jti: 'x' })).toBe(false);
      });
      for (const other of ['ops', 'ops\\\\', 'a\\nb@fe', 'innocent@fe']) expect(revokes(tree, { sub: other, iat: 1, jti: 'x' })).toBe(false);
    }
  });

  it('refuses what no expression can carry (a NUL at the edge, an unpaired surrogate) with a code, and changes nothing', async () => {
    const before = (await api.get('/revocations/condor')).text;
    const file = readFileSync(revocationFile, 'utf8');
    for (const [subject, code] of [
      ['a\u0000b@fe', 'VALIDATION_FAILED'],
      ['a\ud800@fe', 'SUBJECT_NOT_REPRESENTABLE'],
      ['\ud800', 'SUBJECT_NOT_REPRESENTABLE'],
    ]) {
      const res = await api.post('/revocations/subjects', { subject });
      expect([res.status, res.json.error.code, res.json.error.field ?? 'subject']).toEqual([400, code, 'subject']);
    }
    expect((await api.get('/revocations/condor')).text).toBe(before);
    expect(readFileSync(revocationFile, 'utf8')).toBe(file);
  });

  it('lists a jti only while no subject rule covers its token, and refuses past revocation.maxJtis', async () => {
    const tokens = [await mint('busy@fe'), await mint('busy@fe'), await mint('busy@fe'), await mint('busy@fe')];
    const refusedBefore = await metric('glidekey_revocation_limit_refusals_total{kind="jti"}');
    for (const tk of tokens.slice(0, 3)) expect((await api.post(`/tokens/${tk.jti}/revoke`)).status).toBe(200);
    const res = await api.post(`/tokens/${tokens[3].jti}/revoke`);
    expect([res.status, res.json.error.code]).toEqual([409, 'REVOCATION_LIMIT']);
    expect((await api.get(`/tokens?site=rsite&state=active`)).json.tokens.map((x: { jti: string }) => x.jti)).toContain(tokens[3].jti);
    expect(await metric('glidekey_revocation_limit_refusals_total{kind="jti"}')).toBe(refusedBefore + 1);
    let set = await t.app.get(TokensService).revocationSet();
    expect(set.jtis.sort()).toEqual(
      tokens
        .slice(0, 3)
        .map((x) => x.jti)
        .sort(),
    );
    // A subject rule covers all four: their jtis leave the list, and the expression still revokes them.
    expect((await api.post('/revocations/subjects', { subject: 'busy@fe' })).status).toBe(200);
    set = await t.app.get(TokensService).revocationSet();
    expect(set.jtis).toEqual([]);
    const tree = loaded(readFileSync(revocationFile, 'utf8'));
    for (const tk of tokens) expect(revokes(tree, { sub: 'busy@fe', iat: tk.issuedAt, jti: tk.jti })).toBe(true);
    // The slots are free again.
    const next = await mint('other@fe');
    expect((await api.post(`/tokens/${next.jti}/revoke`)).status).toBe(200);
  });

  it('refuses a new revoked subject past revocation.maxSubjects, but not a new cutoff for one already revoked', async () => {
    // ops\, a\nb@fe, tab..., busy@fe are revoked (the ceiling is 4).
    const res = await api.post('/revocations/subjects', { subject: 'fifth@fe' });
    expect([res.status, res.json.error.code]).toEqual([409, 'REVOCATION_LIMIT']);
    expect(readFileSync(revocationFile, 'utf8')).not.toContain('fifth@fe');
    expect((await api.post('/revocations/subjects', { subject: 'busy@fe' })).status).toBe(200);
  });
});

describe.each(ENGINES)('the last good revocation file (%s)', (engine) => {
  // SQLite: a stored rule no expression can carry. PostgreSQL text cannot hold a NUL, so there the
  // stored rules pass the subject ceiling (a lowered revocation.maxSubjects does the same).
  const f = frontendWithRevocationFile(engine, () => ({ GLIDEKEY_REVOCATION_MAX_SUBJECTS: engine === 'sqlite' ? '1000' : '2' }));
  const { mint, metric } = f;
  let api: ReturnType<typeof client>;
  let t: TestApp;
  let revocationFile: string;
  beforeAll(async () => {
    ({ api, t, revocationFile } = f);
    expect((await api.post('/revocations/subjects', { subject: 'busy@fe' })).status).toBe(200);
  });

  it('keeps the last good file, loudly, when a stored revocation cannot be written', async () => {
    const good = readFileSync(revocationFile, 'utf8');
    const refused = (reason: string) => metric(`glidekey_revocation_file_refusals_total{reason="${reason}"}`);
    const refusedBefore = { check_failed: await refused('check_failed'), limit: await refused('limit') };
    // Rules the expression cannot take: on SQLite one holding a NUL (as a hand edit could leave
    // it; PostgreSQL text cannot hold one), on PostgreSQL two more subjects than the ceiling of 4.
    const row = (id: number, subject: string) => ({
      id: `00000000-0000-4000-8000-00000000000${id}`,
      subject,
      issuedBefore: 1,
      expiresAt: 253_402_300_799_000,
      createdAt: t.clock.now(),
      createdBy: 'test',
    });
    const rows = engine === 'sqlite' ? [row(1, 'bad\u0000@fe')] : [row(1, 'extra1@fe'), row(2, 'extra2@fe')];
    await t.db.dataSource.createQueryBuilder().insert().into(SubjectRevocation).values(rows).execute();
    const reason = engine === 'sqlite' ? 'check_failed' : 'limit';
    const tk = await mint('late@fe');
    expect((await api.post(`/tokens/${tk.jti}/revoke`)).status).toBe(200);
    expect(readFileSync(revocationFile, 'utf8')).toBe(good);
    expect(await refused(reason)).toBe(refusedBefore[reason] + 1);
    expect(t.logs()).toContain('NOT updating');
    const audit = (await api.get('/audit?action=revocation-file.refuse')).json.entries;
    expect(audit.length).toBeGreaterThanOrEqual(1);
    expect(audit[0]).toMatchObject({ result: 'failure', code: reason === 'limit' ? 'REVOCATION_LIMIT' : 'REVOCATION_CHECK_FAILED' });
    // The file it keeps still parses and means what it meant.
    expect(revokes(loaded(good), { sub: 'busy@fe', iat: 1, jti: 'x' })).toBe(true);
    expect(revokes(loaded(good), { sub: 'late@fe', iat: 1, jti: tk.jti })).toBe(false);
  });
});
