import { Injectable, Logger } from '@nestjs/common';

export type ChangeKind = 'keys' | 'revocations';
type Listener = (kind: ChangeKind, site?: string) => Promise<void>;

/**
 * Tells the file writers (passwords.d, the revocation file) and the renewer that something they
 * mirror has changed. The change is already committed; listeners run in order and their failures
 * are logged, never thrown back to the caller (the next scheduler tick repairs any drift).
 */
@Injectable()
export class KeyChanges {
  private readonly log = new Logger('key-changes');
  private readonly listeners: { order: number; listener: Listener }[] = [];

  /** Lower `order` runs first: the files a collector reads (10) before the renewer mints (20). */
  on(listener: Listener, order: number): void {
    this.listeners.push({ order, listener });
    this.listeners.sort((a, b) => a.order - b.order);
  }

  async changed(kind: ChangeKind, site?: string): Promise<void> {
    for (const { listener } of this.listeners) {
      try {
        await listener(kind, site);
      } catch (err) {
        this.log.error({ err }, `a ${kind} listener failed; the next scheduler tick retries`);
      }
    }
  }
}
