import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetaEntry } from '../../src/database/meta.entity.js';
import { EventBus } from '../../src/events/event-bus.js';
import { SiteKey } from '../../src/sites/site-key.entity.js';
import { SiteKeysService } from '../../src/sites/site-keys.service.js';
import { ENGINES, startTestApp, TestApp } from '../support/app.js';

const SRC = join(import.meta.dirname, '..', '..', 'src');

describe.each(ENGINES)('%s: after-commit events', (engine) => {
  let t: TestApp;
  let bus: EventBus;
  const seen: string[] = [];

  beforeAll(async () => {
    t = await startTestApp({ engine });
    bus = t.app.get(EventBus);
    bus.on('site.updated', ({ site }) => {
      seen.push(`updated:${site}`);
    });
    bus.on('site.deleted', ({ site }) => {
      seen.push(`deleted:${site}`);
    });
  });
  afterAll(() => t.close());
  beforeEach(() => (seen.length = 0));

  it('a committed transaction delivers its events once it committed, and before the writer returns', async () => {
    let visibleToSubscriber: string | undefined;
    bus.on('site.updated', async ({ site }) => {
      if (site !== 'probe-commit') return;
      // A subscriber runs outside the writer's transaction and sees what it committed.
      visibleToSubscriber = (await t.db.read((m) => m.findOneBy(MetaEntry, { name: 'test.probe' })))?.value;
    });
    await t.db.tx(async (m) => {
      await m.upsert(MetaEntry, { name: 'test.probe', value: 'committed' }, ['name']);
      bus.publish(m, 'site.updated', { site: 'probe-commit' });
      bus.publish(m, 'site.updated', { site: 'probe-commit' });
      expect(seen).toEqual([]);
    });
    expect(seen).toEqual(['updated:probe-commit']);
    expect(visibleToSubscriber).toBe('committed');
  });

  it('a rolled-back transaction publishes nothing', async () => {
    await expect(
      t.db.tx(async (m) => {
        await m.upsert(MetaEntry, { name: 'test.rollback', value: 'x' }, ['name']);
        bus.publish(m, 'site.deleted', { site: 'never', siteId: 'none' });
        throw new Error('roll it back');
      }),
    ).rejects.toThrow('roll it back');
    expect(seen).toEqual([]);
    expect(await t.db.read((m) => m.findOneBy(MetaEntry, { name: 'test.rollback' }))).toBeNull();
  });

  it('a failing subscriber neither fails the committed writer nor stops the next subscriber', async () => {
    bus.on(
      'site.deleted',
      ({ site }) => {
        if (site === 'boom') throw new Error('subscriber failed');
      },
      1,
    );
    await t.db.tx(async (m) => bus.publish(m, 'site.deleted', { site: 'boom', siteId: 'x' }));
    expect(seen).toEqual(['deleted:boom']);
    expect(t.logs()).toContain('a subscriber of site.deleted failed');
  });

  it('publishing outside a transaction is a programming error, not a silent no-op', async () => {
    await expect(t.db.read(async (m) => bus.publish(m, 'site.updated', { site: 'x' }))).rejects.toThrow('outside a transaction');
  });

  it('a real change reaches subscribers through it: deleting a site', async () => {
    const admin = { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' };
    expect((await fetch(`${t.api}/sites`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'evt-site' }) })).status).toBe(201);
    expect((await fetch(`${t.api}/sites/evt-site`, { method: 'DELETE', headers: { authorization: admin.authorization } })).status).toBe(204);
    expect(seen).toEqual(['deleted:evt-site']);
  });

  it('a retired key is forgotten through it: its derived signing key leaves memory', async () => {
    const admin = { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' };
    const post = (path: string, body: unknown) => fetch(`${t.api}${path}`, { method: 'POST', headers: admin, body: JSON.stringify(body) });
    expect((await post('/sites', { name: 'evt-rot' })).status).toBe(201);
    expect((await post('/sites/evt-rot/tokens', {})).status).toBe(201);
    const [old] = await t.db.read((m) => m.findBy(SiteKey, { kid: 'evt-rot', version: 1 }));
    const signing = (t.app.get(SiteKeysService) as unknown as { signing: Map<string, unknown> }).signing;
    expect(signing.has(old.id)).toBe(true);
    expect((await post('/sites/evt-rot/rotate', { graceSeconds: 0 })).status).toBe(200);
    expect(signing.has(old.id)).toBe(false);
  });
});

describe('no service calls a listener by hand', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
      d.isDirectory() ? files(join(dir, d.name)) : d.name.endsWith('.ts') && !d.name.endsWith('.spec.ts') ? [join(dir, d.name)] : [],
    );

  it('the old hand-called hooks are gone, and subscriptions live only in the subscriber', () => {
    const offenders: string[] = [];
    for (const f of files(SRC)) {
      const text = readFileSync(f, 'utf8');
      const rel = f.slice(SRC.length + 1);
      if (/KeyChanges|outbox\.notify\(|onQueued\(|collector\.changed\(|sites\.changed\(|keys\.forget\(/.test(text))
        offenders.push(`${rel}: calls a listener by hand`);
      // Only the bus itself runs subscribers; a service that wants an effect publishes an event.
      if (!['events/event-bus.ts', 'database/db.ts'].includes(rel) && /afterCommit\(/.test(text)) offenders.push(`${rel}: takes committed events itself`);
      // Renewal on revocation is the renewer's subscription (and the scheduler's repair pass), never a writer's call.
      if (!['current-token/renewal.service.ts', 'scheduler/scheduler.service.ts'].includes(rel) && /\.renewDue\(/.test(text))
        offenders.push(`${rel}: calls the renewer by hand`);
      // A withdrawn or stored credential reaches the factory's files through cache.changed only.
      if (rel !== 'factory/cache-files-sync.service.ts' && /\.files\.(write|remove)\(/.test(text)) offenders.push(`${rel}: writes cache files by hand`);
    }
    expect(offenders).toEqual([]);
  });
});
