import { existsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ReloadScript } from '../support/reload-script.js';
import { client, removeDir, runServiceOnce, startService, tempDir } from '../support/service.js';

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const metric = (text: string, name: string) =>
  Number(
    text
      .split('\n')
      .find((l) => l.startsWith(`${name} `))
      ?.split(' ')[1],
  );

describe('frontend.reloadCommand (node dist/main.js)', () => {
  it('runs the configured script after start-up and after a new key, retries a failure, and runs again when start-up repairs drift', async () => {
    const script = new ReloadScript();
    const dir = tempDir('passwords.d-');
    const revocationFile = join(tempDir('condor-config-'), '99-glidekey-revocation.conf');
    const env = {
      GLIDEKEY_FRONTEND_PASSWORDS_DIR: dir,
      GLIDEKEY_FRONTEND_REVOCATION_FILE: revocationFile,
      GLIDEKEY_FRONTEND_RELOAD_COMMAND: `${script.path} -daemon collector`,
      GLIDEKEY_FRONTEND_RELOAD_DEBOUNCE_MS: '200',
      GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600',
      GLIDEKEY_METRICS_PUBLIC: 'true',
      GLIDEKEY_METRICS_CACHE_SECONDS: '0',
    };
    const line = 'clean-env -daemon collector';
    let svc = await startService({ env });
    try {
      const api = client(svc.api, svc.adminKey);
      // The first start wrote the revocation file.
      await until('the start-up reload', () => script.runs().length === 1);
      expect(script.runs()).toEqual([line]);

      script.failNext(1);
      expect((await api.post('/sites', { name: 'newsite' })).status).toBe(201);
      expect(existsSync(join(dir, 'newsite'))).toBe(true);
      // The creation's key file, then the sync: under load they can be two bursts (one run each).
      await until('a failed run and its retry', () => script.runs().length >= 3);
      await new Promise((r) => setTimeout(r, 500));
      const runs = script.runs().length;
      await until('the metrics', async () => metric((await client(svc.url).get('/metrics')).text, 'glidekey_collector_reload_total{result="ok"}') === runs - 1);
      const text = (await client(svc.url).get('/metrics')).text;
      expect(metric(text, 'glidekey_collector_reload_total{result="failed"}')).toBe(1);
      expect(metric(text, 'glidekey_collector_reload_pending')).toBe(0);
      expect(metric(text, 'glidekey_collector_reload_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
      expect(svc.output()).toContain('collector reload exited with 3');
      const audit = (await api.get('/audit?action=collector.reload')).json.entries;
      const results = audit.map((e: { result: string }) => e.result);
      expect([results.length, results.filter((r: string) => r === 'failure').length, results.at(-1)]).toEqual([runs, 1, 'success']);
      await svc.stop();

      // A restart with nothing to repair runs nothing; one that puts back a missing key file runs once.
      svc = await startService({ env, dataDir: svc.dataDir });
      await new Promise((r) => setTimeout(r, 1000));
      expect(script.runs().length).toBe(runs);
      await svc.stop();
      unlinkSync(join(dir, 'newsite'));
      svc = await startService({ env, dataDir: svc.dataDir });
      expect(existsSync(join(dir, 'newsite'))).toBe(true);
      await until('the reload after the start-up repair', () => script.runs().length === runs + 1);
      expect(script.runs()).toEqual(Array(runs + 1).fill(line));
    } finally {
      await svc.stop();
      removeDir(dir);
      removeDir(script.dir);
    }
  });

  it('refuses to start with an unbalanced quote in the reload command, naming the setting, never its value', async () => {
    const dataDir = tempDir();
    try {
      const r = await runServiceOnce({
        GLIDEKEY_DATA_DIR: dataDir,
        GLIDEKEY_PORT: '0',
        GLIDEKEY_FRONTEND_RELOAD_COMMAND: `sudo -u condor "condor_reconfig Hunter2Secret`,
      });
      expect(r.code).toBe(1);
      expect(r.output).toContain('frontend.reloadCommand (env GLIDEKEY_FRONTEND_RELOAD_COMMAND): has an unbalanced double quote');
      expect(r.output).not.toContain('Hunter2Secret');
    } finally {
      removeDir(dataDir);
    }
  });
});
