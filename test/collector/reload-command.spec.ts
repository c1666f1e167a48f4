import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CollectorReloadService } from '../../src/collector/collector-reload.service.js';
import { PasswordsDirService } from '../../src/passwords-dir/passwords-dir.service.js';
import { SchedulerService } from '../../src/scheduler/scheduler.service.js';
import { RevocationFileService } from '../../src/tokens/revocation-file.service.js';
import { startTestApp, TestApp } from '../support/app.js';
import { ReloadScript } from '../support/reload-script.js';
import { client, removeDir, tempDir } from '../support/service.js';

// Long enough that 20 concurrent creations on a loaded 2-core machine stay one burst.
const DEBOUNCE_MS = 800;
const ARGS = `--from-config 'two words'`;
const RUN_LINE = 'clean-env --from-config two words';

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('frontend.reloadCommand, in process (a real script)', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let reload: CollectorReloadService;
  const script = new ReloadScript();
  const dir = tempDir('passwords.d-');
  const revocationFile = join(tempDir('condor-config-'), 'revocation.conf');

  /** The audit lines of reload runs after id `after`, oldest first (`detail` is free-form JSON the tests walk). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- detail's shape differs per audit action
  async function audits(after = 0): Promise<{ id: number; result: string; actor: string; detail: any }[]> {
    const res = await api.get('/audit?action=collector.reload&limit=1000');
    expect(res.status).toBe(200);
    return res.json.entries.filter((e: { id: number }) => e.id > after).reverse();
  }
  const lastAuditId = async () => (await audits()).at(-1)?.id ?? 0;

  async function metric(name: string): Promise<number> {
    const text = (await client(t.url).get('/metrics')).text;
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    expect(line).toBeDefined();
    return Number(line!.split(' ')[1]);
  }

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        GLIDEKEY_FRONTEND_PASSWORDS_DIR: dir,
        GLIDEKEY_FRONTEND_REVOCATION_FILE: revocationFile,
        GLIDEKEY_FRONTEND_RELOAD_COMMAND: `${script.path} ${ARGS}`,
        GLIDEKEY_FRONTEND_RELOAD_DEBOUNCE_MS: String(DEBOUNCE_MS),
        GLIDEKEY_FRONTEND_RELOAD_TIMEOUT_SECONDS: '3',
        // These tests read counters between changes: metrics uncached (and public, to read them plainly).
        GLIDEKEY_METRICS_PUBLIC: 'true',
        GLIDEKEY_METRICS_CACHE_SECONDS: '0',
      },
    });
    api = client(t.api, t.adminKey);
    reload = t.app.get(CollectorReloadService);
  });
  afterAll(async () => {
    await t.close();
    removeDir(dir);
    removeDir(script.dir);
  });

  it('runs once at start-up when the start-up sync wrote a file (here: the first revocation file)', async () => {
    await reload.idle();
    expect(existsSync(revocationFile)).toBe(true);
    expect(script.runs()).toEqual([RUN_LINE]);
    const [a] = await audits();
    expect(a).toMatchObject({ actor: 'system:collector-reload', result: 'success' });
    expect(a.detail).toMatchObject({
      result: 'ok',
      exitCode: 0,
      signal: null,
      reason: { revocationFile: true, keysWritten: { count: 0 }, keysRemoved: { count: 0 } },
    });
    expect(typeof a.detail.durationMs).toBe('number');
    expect(await metric('glidekey_collector_reload_last_success_timestamp_seconds')).toBeGreaterThan(0);
  });

  it('does not run when nothing changed on disk', async () => {
    const before = script.runs().length;
    await t.app.get(PasswordsDirService).sync('tick');
    expect(await t.app.get(RevocationFileService).write()).toBe(false);
    await t.app.get(SchedulerService).tick();
    expect((await api.get('/sites')).status).toBe(200);
    await new Promise((r) => setTimeout(r, DEBOUNCE_MS * 2));
    await reload.idle();
    expect(script.runs().length).toBe(before);
  });

  it('runs after a site creation wrote its key file, naming the kid in the audit, with argv from config only', async () => {
    const after = await lastAuditId();
    const before = script.runs().length;
    expect((await api.post('/sites', { name: 'alpha' })).status).toBe(201);
    expect(existsSync(join(dir, 'alpha'))).toBe(true);
    await reload.idle();
    expect(script.runs().slice(before)).toEqual([RUN_LINE]);
    const lines = await audits(after);
    expect(lines.map((l) => l.detail.reason)).toEqual([
      { keysWritten: { names: ['alpha'], count: 1 }, keysRemoved: { names: [], count: 0 }, revocationFile: false },
    ]);
  });

  it('runs once for a burst of 20 site creations', async () => {
    const after = await lastAuditId();
    const before = script.runs().length;
    const names = Array.from({ length: 20 }, (_, i) => `burst${i}`);
    const created = await Promise.all(names.map((name) => api.post('/sites', { name })));
    expect(created.map((r) => r.status)).toEqual(names.map(() => 201));
    await reload.idle();
    expect(script.runs().slice(before)).toEqual([RUN_LINE]);
    const lines = await audits(after);
    expect(lines.length).toBe(1);
    expect(lines[0].detail.reason.keysWritten).toEqual({ names: [...names].sort(), count: 20 });
  });

  it('runs after a delete removed a key file', async () => {
    const after = await lastAuditId();
    const before = script.runs().length;
    expect((await api.del('/sites/alpha')).status).toBe(204);
    expect(existsSync(join(dir, 'alpha'))).toBe(false);
    await reload.idle();
    expect(script.runs().slice(before)).toEqual([RUN_LINE]);
    expect((await audits(after)).map((l) => l.detail.reason.keysRemoved)).toEqual([{ names: ['alpha'], count: 1 }]);
  });

  it("runs after a graceful rotation wrote <site>_v2, and again when the old key's grace ended and its file went", async () => {
    expect((await api.post('/sites', { name: 'rot' })).status).toBe(201);
    await reload.idle();
    let after = await lastAuditId();
    let before = script.runs().length;
    expect((await api.post('/sites/rot/rotate', { graceSeconds: 60 })).status).toBe(200);
    await reload.idle();
    expect(script.runs().slice(before)).toEqual([RUN_LINE]);
    expect((await audits(after)).map((l) => l.detail.reason.keysWritten)).toEqual([{ names: ['rot_v2'], count: 1 }]);

    after = await lastAuditId();
    before = script.runs().length;
    t.clock.advance(61);
    await t.app.get(SchedulerService).tick();
    expect(existsSync(join(dir, 'rot'))).toBe(false);
    await reload.idle();
    expect(script.runs().slice(before)).toEqual([RUN_LINE]);
    expect((await audits(after)).map((l) => l.detail.reason.keysRemoved)).toEqual([{ names: ['rot'], count: 1 }]);
  });

  it('runs after a revocation rewrote the revocation file', async () => {
    const after = await lastAuditId();
    const before = script.runs().length;
    const content = readFileSync(revocationFile, 'utf8');
    expect((await api.post('/revocations/subjects', { subject: 'someone@example.org' })).status).toBe(200);
    expect(readFileSync(revocationFile, 'utf8')).not.toBe(content);
    await reload.idle();
    expect(script.runs().slice(before)).toEqual([RUN_LINE]);
    expect((await audits(after)).map((l) => l.detail.reason)).toEqual([
      { keysWritten: { names: [], count: 0 }, keysRemoved: { names: [], count: 0 }, revocationFile: true },
    ]);
  });

  it('retries a failing command with backoff until it succeeds, and counts the failures', async () => {
    const after = await lastAuditId();
    const before = script.runs().length;
    const failed = await metric('glidekey_collector_reload_total{result="failed"}');
    const ok = await metric('glidekey_collector_reload_total{result="ok"}');
    script.failNext(2);
    const started = Date.now();
    expect((await api.post('/sites', { name: 'flaky' })).status).toBe(201);
    // While failing: pending, not yet reloaded.
    await new Promise((r) => setTimeout(r, DEBOUNCE_MS + 200));
    expect(await metric('glidekey_collector_reload_pending')).toBe(1);
    await reload.idle();
    // Debounce, then retries after 2 and 4 debounces.
    expect(Date.now() - started).toBeGreaterThanOrEqual(DEBOUNCE_MS * 7 - 50);
    expect(script.runs().slice(before)).toEqual([RUN_LINE, RUN_LINE, RUN_LINE]);
    expect(await metric('glidekey_collector_reload_total{result="failed"}')).toBe(failed + 2);
    expect(await metric('glidekey_collector_reload_total{result="ok"}')).toBe(ok + 1);
    expect(await metric('glidekey_collector_reload_pending')).toBe(0);
    const lines = await audits(after);
    expect(lines.map((l) => [l.result, l.detail.result, l.detail.exitCode, l.detail.attempt])).toEqual([
      ['failure', 'failed', 3, 1],
      ['failure', 'failed', 3, 2],
      ['success', 'ok', 0, undefined],
    ]);
    // Every attempt still says what changed.
    expect(lines.map((l) => l.detail.reason.keysWritten.names)).toEqual([['flaky'], ['flaky'], ['flaky']]);
    expect(t.logs()).toContain('exited with 3');
    expect(t.logs()).toContain('collector unreachable');
  });

  it('kills a command that outlives the timeout, counts it, and retries', async () => {
    const after = await lastAuditId();
    const before = script.runs().length;
    const timeouts = await metric('glidekey_collector_reload_total{result="timeout"}');
    script.slow(20);
    expect((await api.post('/sites', { name: 'hang' })).status).toBe(201);
    await until('the hanging run to be killed', async () => (await metric('glidekey_collector_reload_total{result="timeout"}')) === timeouts + 1);
    script.slow(0);
    await reload.idle();
    expect(await metric('glidekey_collector_reload_total{result="timeout"}')).toBe(timeouts + 1);
    expect(script.runs().slice(before)).toEqual([RUN_LINE, RUN_LINE]);
    const lines = await audits(after);
    expect(lines.map((l) => [l.result, l.detail.result, l.detail.signal])).toEqual([
      ['failure', 'timeout', 'SIGKILL'],
      ['success', 'ok', null],
    ]);
    expect(lines[0].detail.durationMs).toBeGreaterThanOrEqual(3000);
    expect(lines[0].detail.durationMs).toBeLessThan(10_000);
  });

  it('runs once more after a change that came during a run', async () => {
    const before = script.runs().length;
    const audited = (await audits()).length;
    script.slow(2);
    expect((await api.post('/sites', { name: 'during1' })).status).toBe(201);
    await until('the first run to start', () => script.runs().length === before + 1);
    expect((await api.post('/sites', { name: 'during2' })).status).toBe(201);
    expect((await api.post('/sites', { name: 'during3' })).status).toBe(201);
    expect((await audits()).length).toBe(audited); // the first run is still going
    script.slow(0);
    await reload.idle();
    expect(script.runs().length).toBe(before + 2);
    const last = (await audits()).at(-1)!;
    expect(last.detail.reason.keysWritten.names).toEqual(['during2', 'during3']);
  });
});
