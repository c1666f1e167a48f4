import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { AuditService } from '../../src/audit/audit.service.js';
import { Settings } from '../../src/config/settings.js';
import { PruneService } from '../../src/retention/prune.service.js';
import { ENGINES, startTestApp, TestApp } from '../support/app.js';
import { client, removeDir, tempDir } from '../support/service.js';

const DAY = 86_400;

describe.each(ENGINES)('retention on %s', (engine) => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let prune: PruneService;
  let dir: string;

  beforeAll(async () => {
    t = await startTestApp({
      engine,
      env: {
        GLIDEKEY_RETENTION_LEDGER_DAYS: '30',
        GLIDEKEY_RETENTION_AUDIT_DAYS: '30',
        GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600',
        GLIDEKEY_METRICS_CACHE_SECONDS: '0',
      },
    });
    api = client(t.api, t.adminKey);
    prune = new PruneService(t.db, t.app.get(Settings), t.clock, t.app.get(AuditService));
    dir = tempDir('glidekey-retention-');
  });
  afterAll(async () => {
    await t.close();
    removeDir(dir);
  });

  const rows = (sql: string) => t.db.dataSource.query(sql) as Promise<Record<string, unknown>[]>;

  it('archives old ledger rows and audit lines, then prunes exactly those, keeping revocations and the newest lines', async () => {
    expect((await api.post('/sites', { name: 'old_site' })).status).toBe(201);
    const old = await api.post('/sites/old_site/tokens', {});
    expect(old.status).toBe(201);
    const oldAudit = await rows('SELECT id FROM audit_log ORDER BY id');
    const oldLedger = (await rows('SELECT jti FROM issued_tokens ORDER BY jti')).map((x) => x.jti);
    expect(oldLedger).toContain(old.json.jti);
    t.clock.advance(60 * DAY);
    const kept = await api.post('/sites/old_site/tokens', {});
    expect((await api.post(`/tokens/${kept.json.jti}/revoke`, {})).status).toBe(200);
    const expr = (await api.get('/revocations/condor')).text;
    expect(expr).toContain(kept.json.jti);
    const ledgerBefore = await rows('SELECT jti FROM issued_tokens ORDER BY jti');
    const auditBefore = await rows('SELECT id FROM audit_log ORDER BY id');

    // A dry run counts and changes nothing.
    const dry = await prune.prune({ dryRun: true, actor: 'test' });
    expect([dry.ledgerRows, dry.auditLines, dry.archive]).toEqual([oldLedger.length, oldAudit.length, null]);
    expect(await rows('SELECT jti FROM issued_tokens ORDER BY jti')).toEqual(ledgerBefore);
    expect(await rows('SELECT id FROM audit_log ORDER BY id')).toEqual(auditBefore);

    const file = join(dir, 'a.jsonl.gz');
    const r = await prune.prune({ archive: file, actor: 'test' });
    expect([r.ledgerRows, r.auditLines]).toEqual([oldLedger.length, oldAudit.length]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(r.sha256).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'));
    const lines = gunzipSync(readFileSync(file))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.table === 'issued_tokens').map((l) => l.row.jti)).toEqual(oldLedger);
    expect(lines.filter((l) => l.table === 'audit_log').map((l) => l.row.id)).toEqual(oldAudit.map((a) => Number(a.id)));
    expect(JSON.stringify(lines)).not.toContain(old.json.token);
    expect(lines.find((l) => l.row.jti === old.json.jti).row).toMatchObject({ jti: old.json.jti, site_name: 'old_site', revoked_at: null });

    expect((await rows('SELECT jti FROM issued_tokens ORDER BY jti')).map((x) => x.jti)).toEqual(
      ledgerBefore.map((x) => x.jti).filter((j) => !oldLedger.includes(j)),
    );
    expect(ledgerBefore.map((x) => x.jti)).toContain(kept.json.jti);
    expect((await api.get('/revocations/condor')).text).toBe(expr);
    const left = await rows('SELECT id, action, detail FROM audit_log ORDER BY id');
    expect(left.map((x) => Number(x.id))).toEqual([...auditBefore.slice(oldAudit.length).map((a) => Number(a.id)), expect.any(Number)]);
    const line = left[left.length - 1];
    expect(line.action).toBe('retention.prune');
    expect(JSON.parse(line.detail as string)).toMatchObject({ ledgerRows: oldLedger.length, auditLines: oldAudit.length, sha256: r.sha256, archive: file });

    // The guard is gone with the transaction: a plain DELETE is refused again.
    await expect(t.db.dataSource.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
    await expect(t.db.dataSource.query(`UPDATE audit_log SET actor = 'x'`)).rejects.toThrow(/append-only/);

    // The prune line itself is never pruned, however old it gets.
    t.clock.advance(400 * DAY);
    const later = await prune.prune({ dryRun: true, actor: 'test' });
    expect(later.auditLines).toBe(left.length - 1);
  });

  it('shows table sizes in /metrics', async () => {
    const text = (await client(t.url, t.adminKey).get('/metrics')).text;
    const gauge = (table: string) => Number(new RegExp(`^glidekey_table_rows\\{table="${table}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    const [ledger] = await rows('SELECT COUNT(*) AS n FROM issued_tokens');
    const [audit] = await rows('SELECT COUNT(*) AS n FROM audit_log');
    expect(gauge('ledger_rows')).toBe(Number(ledger.n));
    expect(gauge('audit_lines')).toBe(Number(audit.n));
    expect(gauge('revoked_jtis')).toBe(0);
    const minted = await api.post('/sites/old_site/tokens', {});
    expect((await api.post(`/tokens/${minted.json.jti}/revoke`, {})).status).toBe(200);
    const after = (await client(t.url, t.adminKey).get('/metrics')).text;
    expect(Number(/^glidekey_table_rows\{table="revoked_jtis"\} (\d+)$/m.exec(after)?.[1])).toBe(1);
  });

  it('never overwrites an existing file and changes nothing then', async () => {
    const file = join(dir, 'exists.jsonl.gz');
    writeFileSync(file, 'keep');
    const audit = await rows('SELECT COUNT(*) AS n FROM audit_log');
    await expect(prune.prune({ archive: file, actor: 'test' })).rejects.toThrow(/exists: refusing to overwrite/);
    expect(readFileSync(file, 'utf8')).toBe('keep');
    expect(await rows('SELECT COUNT(*) AS n FROM audit_log')).toEqual(audit);
    expect(existsSync(join(dir, `.exists.jsonl.gz.${process.pid}.tmp`))).toBe(false);
  });
});
