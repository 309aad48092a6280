/**
 * Acknowledgements wait a moment for company (issue 13). At light load every P2P_ACK was a write
 * transaction of its own: a commit, its fsync and the thread hand-offs of lmdb-js, about as much
 * as the append of the message itself. lmdb-js already commits every transaction queued in one
 * event turn together, so an ack held back until the next append is queued (or `delayMs` passes,
 * whichever is first) rides in the append's commit instead of costing one.
 *
 * Nothing is weakened: the ack's promise (and so the client's OK) still resolves only after its
 * removal is committed; an ack lost with the process is a message delivered again, which the
 * protocol already allows for every unacknowledged message. What it costs is up to `delayMs` on
 * the OK of an ack when nothing else is written.
 */
export class AckBatcher {
  private queued: (() => void)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly started = new Set<Promise<unknown>>();

  constructor(private readonly delayMs: number) {}

  /** Run `write` (which queues a transaction) at the next flush; its result is the caller's. */
  defer<T>(write: () => Promise<T>): Promise<T> {
    if (this.delayMs <= 0) return write();
    return new Promise<T>((resolve, reject) => {
      this.queued.push(() => {
        const p = write();
        this.started.add(p);
        p.then(resolve, reject).finally(() => this.started.delete(p));
      });
      this.timer ??= setTimeout(() => this.flush(), this.delayMs);
    });
  }

  /** Queue every held write now, in the order they came: call just before queuing another write. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.queued.length === 0) return;
    const q = this.queued;
    this.queued = [];
    for (const start of q) start();
  }

  /** Flush and wait for every held write to settle (before the environment closes). */
  async drain(): Promise<void> {
    this.flush();
    await Promise.allSettled([...this.started]);
  }
}
