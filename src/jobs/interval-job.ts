import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';

/**
 * A named interval in Nest's scheduler registry whose runs never overlap (a run still going makes
 * the next a no-op) and whose failures are logged, never thrown: the next run tries again.
 */
export class IntervalJob {
  private running = false;

  constructor(
    private readonly registry: SchedulerRegistry,
    private readonly name: string,
    private readonly log: Logger,
  ) {}

  start(everySeconds: number, run: () => Promise<void>, failure: string): void {
    this.registry.addInterval(
      this.name,
      setInterval(() => void this.once(run, failure), everySeconds * 1000),
    );
  }

  stop(): void {
    if (this.registry.doesExist('interval', this.name)) this.registry.deleteInterval(this.name);
  }

  private async once(run: () => Promise<void>, failure: string): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await run();
    } catch (err) {
      this.log.error({ err }, failure);
    } finally {
      this.running = false;
    }
  }
}
