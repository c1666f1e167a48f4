/**
 * Group commit: units that arrive together share one transaction (one fsync). `commit` writes a
 * batch of units in one transaction and returns the indexes of the units it wrote; each caller's
 * promise settles only after that: `true` (written and committed), `false` (its unit was not
 * written), or the batch's error for every caller in it.
 */
export class GroupCommit<U> {
  private queue: { unit: U; done: (written: boolean) => void; fail: (err: unknown) => void }[] = [];
  private flushing = false;

  constructor(
    private readonly maxBatch: number,
    private readonly commit: (units: U[]) => Promise<Set<number>>,
  ) {}

  submit(unit: U): Promise<boolean> {
    return new Promise((done, fail) => {
      this.queue.push({ unit, done, fail });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const written = await this.commit(batch.map((p) => p.unit));
        batch.forEach((p, i) => p.done(written.has(i)));
      } catch (err) {
        for (const p of batch) p.fail(err);
      }
    }
    this.flushing = false;
  }
}
