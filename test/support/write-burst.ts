import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { client } from './service.js';

/**
 * A burst of writes against a running service (mints, rotations, site creations) that keeps, for
 * each one, what the service answered: acknowledged (2xx), refused as STORAGE_UNAVAILABLE (503), or
 * unknown (no answer: the process was killed while it was in flight). Anything else is recorded as
 * unexpected. `verify` then checks a restarted service against it.
 */
export class WriteLedger {
  /** Acknowledged mints per site (jti). */
  readonly minted = new Map<string, Set<string>>();
  /** Acknowledged rotations per site, and how many had no answer. */
  readonly rotated = new Map<string, number>();
  readonly rotateUnknown = new Map<string, number>();
  readonly mintUnknown = new Map<string, number>();
  readonly created = new Set<string>();
  readonly refusedCreates = new Set<string>();
  readonly unknownCreates = new Set<string>();
  readonly unexpected: string[] = [];
  /** When each acknowledgement arrived (performance.now()), per write: `mint <jti>`, `rotate <site> <n>`, `create <name>`. */
  private readonly ackTimes = new Map<string, number>();
  acks = 0;
  refusals = 0;
  private createSeq = 0;

  constructor(
    readonly sites: string[],
    private readonly prefix: string,
  ) {
    for (const s of sites) {
      this.minted.set(s, new Set());
      this.rotated.set(s, 0);
      this.rotateUnknown.set(s, 0);
      this.mintUnknown.set(s, 0);
    }
  }

  /** A 503 must say STORAGE_UNAVAILABLE with Retry-After and nothing internal. */
  private refused(what: string, r: { status: number; text: string; headers: Headers; json?: { error?: { code?: string } } }): boolean {
    if (r.status !== 503) return false;
    this.refusals++;
    const retry = Number(r.headers.get('retry-after'));
    if (r.json?.error?.code !== 'STORAGE_UNAVAILABLE' || !(retry >= 1) || /sqlite|ENOSPC|EROFS|EIO|\/tmp|\/mnt|glidekey\.sqlite/i.test(r.text)) {
      this.unexpected.push(`${what}: 503 ${r.headers.get('retry-after')} ${r.text}`);
    }
    return true;
  }

  /** Runs mint and rotation workers on every site and one site-creation worker until `until()` says stop. */
  async run(api: string, adminKey: string, until: () => boolean, opts: { onRefused?: () => void; maxCreates?: number } = {}): Promise<void> {
    const c = client(api, adminKey);
    const call = async <T>(fn: () => Promise<T>): Promise<T | undefined> => fn().catch(() => undefined);
    const mint = async (site: string) => {
      while (!until()) {
        const r = await call(() => c.post(`/sites/${site}/tokens`, {}));
        if (!r || uncertain(r)) {
          this.mintUnknown.set(site, this.mintUnknown.get(site)! + 1);
          if (r) {
            this.refusals++;
            opts.onRefused?.();
          }
        } else if (r.status === 201) {
          this.minted.get(site)!.add(r.json.jti);
          this.ackTimes.set(`mint ${r.json.jti}`, performance.now());
          this.acks++;
        } else if (this.refused(`mint ${site}`, r)) opts.onRefused?.();
        else this.unexpected.push(`mint ${site}: ${r.status} ${r.text}`);
      }
    };
    const rotate = async (site: string) => {
      while (!until()) {
        const r = await call(() => c.post(`/sites/${site}/rotate`, { graceSeconds: 0 }));
        if (!r || uncertain(r)) {
          this.rotateUnknown.set(site, this.rotateUnknown.get(site)! + 1);
          if (r) {
            this.refusals++;
            opts.onRefused?.();
          }
        } else if (r.status === 200) {
          // One rotation worker per site: versions go up by one per acknowledged rotation, unless an answer was lost.
          this.rotated.set(site, this.rotated.get(site)! + 1);
          this.ackTimes.set(`rotate ${site} ${this.rotated.get(site)}`, performance.now());
          this.acks++;
        } else if (this.refused(`rotate ${site}`, r)) opts.onRefused?.();
        else this.unexpected.push(`rotate ${site}: ${r.status} ${r.text}`);
      }
    };
    const create = async () => {
      for (let n = 0; n < (opts.maxCreates ?? Infinity) && !until(); n++) {
        const name = `${this.prefix}${this.createSeq++}`;
        const r = await call(() => c.post('/sites', { name }));
        if (!r || uncertain(r)) {
          this.unknownCreates.add(name);
          if (r) {
            this.refusals++;
            opts.onRefused?.();
          }
        } else if (r.status === 201) {
          this.created.add(name);
          this.ackTimes.set(`create ${name}`, performance.now());
          this.acks++;
        } else if (this.refused(`create ${name}`, r)) {
          this.refusedCreates.add(name);
          opts.onRefused?.();
        } else this.unexpected.push(`create ${name}: ${r.status} ${r.text}`);
      }
    };
    await Promise.all([...this.sites.flatMap((s) => [mint(s), rotate(s)]), create()]);
  }

  /**
   * Moves the writes acknowledged at or after `from` (performance.now()) to the unknown ones, as if
   * their answers had been lost; returns how many. For a fault whose file system itself does not
   * keep every fsync that returned just before it (see the read-only test).
   */
  uncertainSince(from: number): number {
    let n = 0;
    for (const [what, at] of this.ackTimes) {
      if (at < from) continue;
      n++;
      const [kind, a] = what.split(' ');
      if (kind === 'mint') {
        for (const [site, jtis] of this.minted) if (jtis.delete(a)) this.mintUnknown.set(site, this.mintUnknown.get(site)! + 1);
      } else if (kind === 'rotate') {
        this.rotated.set(a, this.rotated.get(a)! - 1);
        this.rotateUnknown.set(a, this.rotateUnknown.get(a)! + 1);
      } else {
        this.created.delete(a);
        this.unknownCreates.add(a);
      }
      this.ackTimes.delete(what);
    }
    return n;
  }

  /**
   * Checks a (restarted) service: every acknowledged write is there, every refused one is not, and
   * passwords.d holds exactly the sites' usable keys, byte for byte what the database holds.
   * Returns the differences found (empty when all agree).
   */
  async verify(api: string, adminKey: string, passwordsDir: string): Promise<string[]> {
    const c = client(api, adminKey);
    const problems = [...this.unexpected];
    const names = new Set(((await c.get('/sites')).json as { name: string }[]).map((s) => s.name));
    for (const s of [...this.sites, ...this.created]) if (!names.has(s)) problems.push(`acknowledged site ${s} missing`);
    for (const s of this.refusedCreates) if (names.has(s)) problems.push(`refused site ${s} exists`);
    for (const s of names) if (!this.sites.includes(s) && !this.created.has(s) && !this.unknownCreates.has(s)) problems.push(`site ${s} never acknowledged`);
    for (const site of this.sites) {
      const jtis = new Set<string>();
      for (let cursor: string | null = ''; cursor !== null;) {
        const page: { json: { tokens: { jti: string; mintedBy: string }[]; next: string | null } } = await c.get(
          `/tokens?site=${site}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
        );
        // The renewer mints each site's current token after every rotation, as 'system': not ours to count.
        for (const t of page.json.tokens) if (t.mintedBy.startsWith('api-key:')) jtis.add(t.jti);
        cursor = page.json.next;
      }
      const acked = this.minted.get(site)!;
      const lost = [...acked].filter((j) => !jtis.has(j));
      if (lost.length) problems.push(`${site}: ${lost.length} of ${acked.size} acknowledged mints lost`);
      const extra = jtis.size - (acked.size - lost.length);
      if (extra > this.mintUnknown.get(site)!)
        problems.push(`${site}: ${extra} ledger rows no mint was acknowledged for (${this.mintUnknown.get(site)} unanswered)`);
      const version = (await c.get(`/sites/${site}`)).json.key.version as number;
      const min = 1 + this.rotated.get(site)!;
      const max = min + this.rotateUnknown.get(site)!;
      if (version < min || version > max) problems.push(`${site}: key version ${version}, acknowledged rotations say ${min}..${max}`);
    }
    // passwords.d: one file per site (immediate rotations reuse the site's name), equal to the active key file.
    const files = new Set(readdirSync(passwordsDir));
    for (const s of names) {
      const res = await fetch(`${api}/sites/${s}/keyfile`, { headers: { authorization: `Bearer ${adminKey}` } });
      const want = Buffer.from(await res.arrayBuffer());
      if (res.status !== 200) problems.push(`GET /sites/${s}/keyfile answered ${res.status}`);
      if (!files.has(s)) problems.push(`passwords.d lacks ${s}`);
      else if (!readFileSync(join(passwordsDir, s)).equals(want)) problems.push(`passwords.d/${s} differs from the database's active key`);
      files.delete(s);
    }
    if (files.size) problems.push(`passwords.d holds files no site has: ${[...files].join(' ')}`);
    return problems;
  }
}

/** A 503 COMMIT_UNCERTAIN says the outcome is unknown (the file system failed around COMMIT): like a lost answer. */
function uncertain(r: { status: number; json?: { error?: { code?: string } } }): boolean {
  return r.status === 503 && r.json?.error?.code === 'COMMIT_UNCERTAIN';
}
