import { client, removeDir, Service, startService, tempDir } from '../support/service.js';
import { WriteLedger } from '../support/write-burst.js';

/**
 * Rounds of SIGKILL at a random moment of a burst of mints, rotations and site creations; after
 * each restart every write answered 2xx is there. Each round starts the service once (about 1-2 s of
 * CPU on its own), so the suite runs 6 of them; GLIDEKEY_TEST_KILL_ROUNDS=100 runs the long loop.
 */
const ROUNDS = Number(process.env.GLIDEKEY_TEST_KILL_ROUNDS ?? 6);
const SITES = ['kill-a', 'kill-b'];

describe('SIGKILL during writes (process level)', () => {
  it(
    `after each of ${ROUNDS} kills at a random moment, no acknowledged write is lost and passwords.d matches the database`,
    async () => {
      const passwords = tempDir('passwords.d-');
      const env = { GLIDEKEY_FRONTEND_PASSWORDS_DIR: passwords, GLIDEKEY_LOG_LEVEL: 'error', GLIDEKEY_SCHEDULER_TICK_SECONDS: '3600' };
      let svc: Service = await startService({ env });
      const adminKey = svc.adminKey;
      for (const name of SITES) expect((await client(svc.api, adminKey).post('/sites', { name })).status).toBe(201);
      const ledger = new WriteLedger(SITES, 'killed-');
      const problems: string[] = [];
      try {
        for (let round = 0; round < ROUNDS; round++) {
          let killed = false;
          const run = ledger.run(svc.api, adminKey, () => killed, { maxCreates: 2 });
          // Kill at a random moment once writes are being answered (the first answers after a start are slow on a loaded machine).
          // The first round waits for a site creation's answer as well: a creation (key, files, first
          // token) takes longer than a mint or a rotation, and with the random kill moment below every
          // round could otherwise end before any creation was answered.
          const ackedBefore = ledger.acks;
          const createdBefore = ledger.created.size;
          const answered = () => ledger.acks !== ackedBefore && (round > 0 || ledger.created.size !== createdBefore);
          for (let t = 0; t < 200 && !answered(); t++) await new Promise((r) => setTimeout(r, 50));
          await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 400)));
          killed = true;
          await svc.stop('SIGKILL');
          await run;
          svc = await startService({ env, dataDir: svc.dataDir });
          problems.push(...(await ledger.verify(svc.api, adminKey, passwords)).map((p) => `round ${round}: ${p}`));
          ledger.unexpected.length = 0;
          if (problems.length) break;
        }
      } finally {
        await svc.stop('SIGKILL');
      }
      expect(problems).toEqual([]);
      // The kills really fell among acknowledged writes of every kind.
      expect(ledger.acks).toBeGreaterThanOrEqual(ROUNDS);
      expect([...ledger.minted.values()].every((s) => s.size > 0)).toBe(true);
      expect([...ledger.rotated.values()].every((n) => n > 0)).toBe(true);
      expect(ledger.created.size).toBeGreaterThan(0);
      removeDir(svc.dataDir);
      removeDir(passwords);
    },
    30_000 + ROUNDS * 15_000,
  );
});
