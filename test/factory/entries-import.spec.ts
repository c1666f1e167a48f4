import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseGlideinXml } from '../../src/factory/glideinwms-xml.js';
import { ENGINES, startTestApp, TestApp } from '../support/app.js';
import { client, ROOT } from '../support/service.js';

const XML = readFileSync(join(ROOT, 'test', 'fixtures', 'glideinWMS.xml'), 'utf8');

/** Every field of every entry, as GET /factory/entries shows it, without the times. */
async function entries(api: ReturnType<typeof client>) {
  return (await api.get('/factory/entries')).json.map(({ createdAt: _c, updatedAt: _u, ...e }: Record<string, unknown>) => e);
}

const entry = (name: string, site: string, gatekeeper: string, trustDomain: string, authMethod: string, condorVersion: string | null) => ({
  name,
  glideinBootstrap: 'ticket',
  site,
  gatekeeper,
  trustDomain,
  authMethod,
  condorVersion,
  securityClass: null,
  glideinScitoken: false,
  maxPilotLifeSeconds: null,
});

const IMPORTED = [
  entry('EGI_DE_KIT_arc', 'KIT', 'https://arc1.kit.edu:443/arex', 'grid', 'scitoken,grid_proxy', '23.0.17'),
  entry('NERSC_cori_bosco', 'NERSC', 'uscms@cori.nersc.gov', 'bosco', 'key_pair', null),
  entry('OSG_US_Nebraska_ce1', 'Nebraska', 'ce1.unl.edu ce1.unl.edu:9619', 'OSG', 'scitoken', '23.0.17'),
  entry('OSG_US_Nebraska_ce1_gpu', 'Nebraska', 'ce1.unl.edu ce1.unl.edu:9619', 'OSG', 'scitoken+idtoken', '24.0.1-1.el9'),
  entry('OSG_US_Wisc_nodefaults', 'Wisconsin', 'ce.chtc.wisc.edu', 'grid', 'grid_proxy', '23.0.17'),
];

describe.each(ENGINES)('POST /factory/entries/import (glideinWMS.xml), on %s', (engine) => {
  let t: TestApp;
  let api: ReturnType<typeof client>;

  beforeEach(async () => {
    t = await startTestApp({ engine });
    api = client(t.api, t.adminKey);
  });
  afterEach(() => t.close());

  it('parses the realistic sample: globals inherited, entities decoded, entry sets and disabled entries marked', () => {
    const doc = parseGlideinXml(XML);
    expect(doc.glideinName).toBe('gfactory_instance');
    expect(doc.clientProxiesDir).toBe('/var/lib/gwms-factory/client-proxies');
    const kit = doc.entries.find((e) => e.name === 'EGI_DE_KIT_arc')!;
    expect(kit.attrs.get('GLIDEIN_Supported_VOs')).toBe('CMS & ATLAS & <dune> "Belle"');
    expect(kit.attrs.get('USE_CCB')).toBe('True');
    expect(doc.entries.map((e) => [e.name, e.kind, e.enabled])).toEqual([
      ['OSG_US_Nebraska_ce1', 'entry', 'True'],
      ['OSG_US_Nebraska_ce1_gpu', 'entry', 'True'],
      ['EGI_DE_KIT_arc', 'entry', 'True'],
      ['OSG_US_Wisc_nodefaults', 'entry', 'True'],
      ['NERSC_cori_bosco', 'entry', 'True'],
      ['OSG_US_Old_gt2', 'entry', 'False'],
      ['TEST_no_site', 'entry', 'True'],
      ['OSG_US_Purdue_set', 'entry_set', 'True'],
    ]);
    // One pass: `&amp;#65;` is the text `&#65;`, never `A`.
    expect(
      parseGlideinXml(
        '<glidein><entries><entry name="e"><attrs><attr name="a" value="&amp;#65;&#65;"/></attrs></entry></entries></glidein>',
      ).entries[0].attrs.get('a'),
    ).toBe('&#65;A');
  });

  it('imports exactly: every field of every enabled entry, the rest skipped with a reason', async () => {
    const res = await api.post('/factory/entries/import', { xml: XML });
    expect(res.status).toBe(200);
    expect(res.json.dryRun).toBe(false);
    expect(res.json.summary).toEqual({ created: 5, updated: 0, unchanged: 0, skipped: 3, deleted: 0 });
    expect(res.json.warnings).toEqual([]);
    const by = Object.fromEntries(res.json.entries.map((e: { name: string }) => [e.name, e]));
    expect(by.OSG_US_Old_gt2).toMatchObject({ result: 'skipped', reason: 'DISABLED' });
    expect(by.TEST_no_site).toMatchObject({ result: 'skipped', reason: 'NO_SITE' });
    expect(by.OSG_US_Purdue_set).toMatchObject({ result: 'skipped', reason: 'ENTRY_SET' });
    expect(by.NERSC_cori_bosco).toMatchObject({ result: 'created', warnings: [expect.objectContaining({ code: 'CONDOR_VERSION_UNKNOWN' })] });
    expect(by.OSG_US_Nebraska_ce1).toEqual({
      name: 'OSG_US_Nebraska_ce1',
      result: 'created',
      changes: {
        site: { from: null, to: 'Nebraska' },
        gatekeeper: { from: null, to: 'ce1.unl.edu ce1.unl.edu:9619' },
        trustDomain: { from: null, to: 'OSG' },
        authMethod: { from: null, to: 'scitoken' },
        condorVersion: { from: null, to: '23.0.17' },
      },
    });
    expect(await entries(api)).toEqual(IMPORTED);
    const audit = (await api.get('/audit?action=factory.entries.import')).json.entries;
    expect(audit).toEqual([
      expect.objectContaining({ action: 'factory.entries.import', detail: { created: 5, updated: 0, unchanged: 0, skipped: 3, deleted: 0 } }),
    ]);
    expect((await api.get('/audit?action=factory.entry.create')).json.entries).toHaveLength(5);
  });

  it('a dry run answers the same per-entry diff and changes nothing', async () => {
    const dry = await api.post('/factory/entries/import', { xml: XML, dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.json.dryRun).toBe(true);
    expect(dry.json.summary).toEqual({ created: 5, updated: 0, unchanged: 0, skipped: 3, deleted: 0 });
    expect(await entries(api)).toEqual([]);
    const real = await api.post('/factory/entries/import', { xml: XML });
    expect(real.json.entries).toEqual(dry.json.entries);
  });

  it('re-import updates in place: only the XML fields change, the admin-set policy stays; unchanged ones say so; prune deletes only on request', async () => {
    await api.post('/factory/entries/import', { xml: XML });
    expect(
      (
        await api.put('/factory/entries/OSG_US_Nebraska_ce1', {
          site: 'Nebraska',
          gatekeeper: 'ce1.unl.edu ce1.unl.edu:9619',
          trustDomain: 'OSG',
          authMethod: 'scitoken',
          condorVersion: '23.0.17',
          glideinScitoken: true,
          maxPilotLifeSeconds: 3600,
          glideinBootstrap: 'token',
        })
      ).status,
    ).toBe(200);
    expect(
      (await api.put('/factory/entries/Hand_made', { site: 'Elsewhere', gatekeeper: 'ce.example.org', trustDomain: 'OSG', authMethod: 'idtoken' })).status,
    ).toBe(201);
    const changed = XML.replace('value="23.0.17"', 'value="24.0.2"').replace('ce.chtc.wisc.edu"', 'ce2.chtc.wisc.edu:9619"');
    const dry = await api.post('/factory/entries/import', { xml: changed, dryRun: true });
    const again = await api.post('/factory/entries/import', { xml: changed });
    expect(again.json.entries).toEqual(dry.json.entries);
    expect(again.json.summary).toEqual({ created: 0, updated: 3, unchanged: 2, skipped: 3, deleted: 0 });
    const by = Object.fromEntries(again.json.entries.map((e: { name: string }) => [e.name, e]));
    expect(by.OSG_US_Wisc_nodefaults.changes).toEqual({
      gatekeeper: { from: 'ce.chtc.wisc.edu', to: 'ce2.chtc.wisc.edu:9619' },
      condorVersion: { from: '23.0.17', to: '24.0.2' },
    });
    expect(by.OSG_US_Nebraska_ce1_gpu.result).toBe('unchanged');
    const after = Object.fromEntries((await entries(api)).map((e: { name: string }) => [e.name, e]));
    expect(after.OSG_US_Nebraska_ce1).toEqual({
      ...entry('OSG_US_Nebraska_ce1', 'Nebraska', 'ce1.unl.edu ce1.unl.edu:9619', 'OSG', 'scitoken', '24.0.2'),
      glideinScitoken: true,
      maxPilotLifeSeconds: 3600,
      glideinBootstrap: 'token',
    });
    expect(after.Hand_made).toBeDefined();
    // prune: the hand-made entry goes; the entry set's alias and skipped entries would stay.
    const pruned = await api.post('/factory/entries/import', { xml: changed, prune: true });
    expect(pruned.json.summary).toEqual({ created: 0, updated: 0, unchanged: 5, skipped: 3, deleted: 1 });
    expect(pruned.json.entries.find((e: { name: string }) => e.name === 'Hand_made')).toMatchObject({ result: 'deleted' });
    expect((await entries(api)).map((e: { name: string }) => e.name)).toEqual(IMPORTED.map((e) => e.name));
  });

  it('config.d fragments are imported with the main file; an entry defined twice is refused whole', async () => {
    const fragment =
      '<glidein><entries><entry name="Frag_1" gatekeeper="frag.example.org:9619" trust_domain="OSG" auth_method="idtoken"><attrs><attr name="GLIDEIN_Site" value="Frag"/><attr name="CONDOR_VERSION" value="23.0.1"/></attrs></entry></entries></glidein>';
    const res = await api.post('/factory/entries/import', { xml: XML, configD: [fragment] });
    expect(res.json.summary.created).toBe(6);
    const twice = await api.post('/factory/entries/import', { xml: XML, configD: [fragment, fragment], prune: true });
    expect([twice.status, twice.json.error.code]).toEqual([400, 'XML_DUPLICATE_ENTRY']);
    expect((await entries(api)).length).toBe(6);
  });

  it('bad XML is 400 with a stable code and its line, and changes nothing', async () => {
    await api.post('/factory/entries/import', { xml: XML });
    const before = await entries(api);
    const cases: [string, string, RegExp][] = [
      [XML.replace('</entries>', '</entrie>'), 'XML_MALFORMED', /^line \d+: /],
      ['<glidein>\n<entries>\n<entry name="a" value="x & y"/></entries></glidein>', 'XML_MALFORMED', /^line 3: /],
      ['<frontend><groups/></frontend>', 'XML_NOT_GLIDEINWMS', /<frontend>/],
      ['', 'XML_MALFORMED', /./],
      ['not xml at all', 'XML_MALFORMED', /line 1/],
    ];
    for (const [xml, code, message] of cases) {
      const res = await api.post('/factory/entries/import', { xml, prune: true });
      expect([res.status, res.json.error.code, res.json.error.field]).toEqual([400, code, 'xml']);
      expect(res.json.error.message).toMatch(message);
    }
    expect(await entries(api)).toEqual(before);
  });

  it('hostile XML is refused before any expansion: billion laughs, external entities, any DOCTYPE; a huge body is 413', async () => {
    const laughs =
      '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n' +
      Array.from({ length: 9 }, (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('\n') +
      '\n]>\n<glidein><entries><entry name="a" gatekeeper="&lol9;"><attrs><attr name="GLIDEIN_Site" value="&lol9;"/></attrs></entry></entries></glidein>';
    const xxe =
      '<?xml version="1.0"?>\n<!DOCTYPE glidein [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<glidein><entries><entry name="a" gatekeeper="&x;"/></entries></glidein>';
    const plain = '<!DOCTYPE glidein>\n<glidein/>';
    for (const xml of [laughs, xxe, plain]) {
      const started = Date.now();
      const res = await api.post('/factory/entries/import', { xml });
      expect([res.status, res.json.error.code]).toEqual([400, 'XML_DOCTYPE']);
      expect(res.json.error.message).toMatch(/^line [12]: /);
      expect(res.text).not.toContain('root:');
      expect(Date.now() - started).toBeLessThan(2000);
    }
    // An undeclared entity reference (no DOCTYPE to define it) is malformed, never looked up.
    const undeclared = await api.post('/factory/entries/import', { xml: '<glidein a="&lol9;"/>' });
    expect([undeclared.status, undeclared.json.error.code]).toEqual([400, 'XML_MALFORMED']);
    // Inside a comment, "<!DOCTYPE" is only text.
    expect((await api.post('/factory/entries/import', { xml: '<!-- <!DOCTYPE x> --><glidein/>' })).status).toBe(200);
    // The route takes up to 8 MiB (a big factory's XML); more is 413 and nothing is parsed.
    const huge = await fetch(`${t.api}/factory/entries/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ xml: `<glidein>${' '.repeat(9 * 1024 * 1024)}</glidein>` }),
    });
    expect(huge.status).toBe(413);
    const big = await api.post('/factory/entries/import', { xml: `<glidein>${'<!-- padding -->'.repeat(200_000)}</glidein>`, dryRun: true });
    expect(big.status).toBe(200);
    // Unterminated comments and CDATA sections, 2 MB of them: refused in one linear scan (a lazy
    // regular expression retried at each one took 28 s for 400 KB, the event loop blocked).
    for (const opener of ['<!--', '<![CDATA[']) {
      const started = Date.now();
      const res = await api.post('/factory/entries/import', { xml: `<glidein>${opener.repeat(Math.floor(2_000_000 / opener.length))}`, dryRun: true });
      expect([res.status, res.json.error.code, res.json.error.message]).toEqual([
        400,
        'XML_MALFORMED',
        expect.stringMatching(/^line 1: a (comment|CDATA section) is never closed/),
      ]);
      expect(Date.now() - started).toBeLessThan(2000);
    }
    // Other routes keep the 256 KiB limit.
    const other = await fetch(`${t.api}/factory/entries/E1`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ site: 'x'.repeat(300 * 1024) }),
    });
    expect(other.status).toBe(413);
  });

  it('the entry model accepts every real gatekeeper form and explains a refused one and trustDomain in GlideinWMS terms', async () => {
    const base = { site: 'S', trustDomain: 'OSG', authMethod: 'scitoken', condorVersion: '23.0.3' };
    for (const gatekeeper of [
      'ce1.unl.edu ce1.unl.edu:9619',
      'ce.example.org',
      'ce.example.org:9619',
      'https://arc.example.org:443/arex',
      'https://arc.example.org',
      'uscms@cori.nersc.gov',
      'cream.example.org:8443/cream-pbs-cms',
      'gatekeeper.example.edu/jobmanager-condor',
    ]) {
      const res = await api.put('/factory/entries/E1', { ...base, gatekeeper });
      expect([gatekeeper, [200, 201].includes(res.status)]).toEqual([gatekeeper, true]);
      expect((await api.get('/factory/entries')).json[0].gatekeeper).toBe(gatekeeper);
    }
    for (const gatekeeper of ['ce1.unl.edu  ce1.unl.edu:9619', 'ce1.unl.edu ce1.unl.edu', '"ce1.unl.edu"', 'condor://ce.example.org', 'a b c:1']) {
      const res = await api.put('/factory/entries/E2', { ...base, gatekeeper });
      expect([res.status, res.json.error.field]).toEqual([400, 'gatekeeper']);
      expect(res.json.error.message).toContain('HTCondor-CE pair "schedd-host collector-host:port"');
    }
    const td = await api.put('/factory/entries/E2', { ...base, gatekeeper: 'ce.example.org', trustDomain: 'collector.example.org:9618' });
    expect([td.status, td.json.error.field]).toEqual([400, 'trustDomain']);
    expect(td.json.error.message).toContain("not HTCondor's TRUST_DOMAIN");
    // The same label on a frontend's SciToken, the same explanation.
    const sci = await api.put('/scitokens/vo', { token: 'a.b.c', trustDomain: 'collector.example.org:9618' });
    expect([sci.status, sci.json.error.field]).toEqual([400, 'trustDomain']);
    expect(sci.json.error.message).toContain("GlideinWMS's trust_domain: a matching label such as OSG");
  });
});
