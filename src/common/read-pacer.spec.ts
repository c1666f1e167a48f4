import { Pacer } from './read-pacer.js';

describe(Pacer.name, () => {
  it('lets a burst of `rate` through at once, then one per 1/rate, in order', async () => {
    const pacer = new Pacer(10, 100);
    const t0 = Date.now();
    const done: number[] = [];
    await Promise.all(Array.from({ length: 15 }, (_, i) => pacer.take().then(() => done.push(i))));
    const took = Date.now() - t0;
    expect(done).toEqual(Array.from({ length: 15 }, (_, i) => i));
    // 10 at once, 5 more at 10 a second.
    expect(took).toBeGreaterThanOrEqual(400);
    expect(took).toBeLessThan(2000);
  });

  it('refuses with RATE_LIMITED and Retry-After once the queue is full, and serves the queued ones', async () => {
    const pacer = new Pacer(1, 2);
    await pacer.take();
    const queued = [pacer.take(), pacer.take()];
    await expect(pacer.take()).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 1 });
    await expect(Promise.all(queued)).resolves.toEqual([undefined, undefined]);
  });
});
