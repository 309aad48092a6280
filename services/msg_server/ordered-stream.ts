/**
 * Delivers the entries of one durable, position-numbered stream (a recipient's inbox, or a topic)
 * to one connection in position order, exactly once per connection, whatever order or path the
 * entries arrive by.
 *
 * Entries reach us "live" (routed right after the store committed them) or by pulling from the
 * store. Every live entry was committed before it was routed, so a pull started after an entry
 * arrived always sees it. A position that stays missing across pulls for `holeGraceMs` was never
 * committed (a writer crashed between allocating and storing it) and is skipped.
 */
/** Default wait for a missing live entry before reading the store (see OrderedStream.waitForGap). */
export const GAP_WAIT_MS = 50;

export interface StreamEntry<T> {
  pos: number;
  item: T;
}

export interface OrderedStreamOptions<T> {
  /** Write one entry to the client. Returns false when the connection is gone. */
  push(pos: number, item: T): boolean;
  /** Committed entries with position > after, ascending, at most `limit`. */
  pull(after: number, limit: number): Promise<StreamEntry<T>[]>;
  /** True when the connection's outbound buffer is above its high-water mark. */
  congested(): boolean;
  /** Wait until the connection can take more (outbound buffer below its low-water mark). */
  writable(): Promise<void>;
  batch: number;
  /**
   * Whether a pull may step over missing positions at once. True for stores with atomic appends
   * (a missing position is an acknowledged, deleted entry). False otherwise: a pull stops at a
   * hole, which is skipped only after holeGraceMs, since its entry may still be being written.
   */
  skipHoles: boolean;
  /** How long a gap in live entries may wait for the missing entry before the store is read. */
  gapWaitMs: number;
  /** Live entries held while a pull is running; beyond it they are dropped and re-read from the store. */
  maxStash: number;
  holeGraceMs: number;
  onError(err: unknown): void;
}

export class OrderedStream<T> {
  /** Highest position delivered on this connection. */
  last: number;
  /** Entries that arrived ahead of their turn; made on the first (most streams never need one). */
  private stashMap: Map<number, T> | null = null;
  private get stash(): Map<number, T> {
    this.stashMap ??= new Map();
    return this.stashMap;
  }
  private get stashSize(): number {
    return this.stashMap?.size ?? 0;
  }
  private pulling = false;
  private pullAgain = false;
  private closed = false;
  /** While false, live entries are only stashed (initial catch-up not finished). */
  private ready = false;
  private holeSince = 0;
  /** Head seen by the previous sweep while behind: a second sweep with us still behind means a route was lost. */
  suspectHead = 0;
  /**
   * A head a sweep-triggered pull could not reach: its missing positions are acknowledged (deleted)
   * inbox entries or never-committed seqs. Sweeps ignore it until the head moves again.
   */
  private settledHead = 0;
  private pullingFor = 0;
  private caughtUp = false;

  constructor(
    start: number,
    private readonly o: OrderedStreamOptions<T>,
  ) {
    this.last = start;
  }

  /**
   * Start delivering: catch up from the store, then accept live entries. `floor`, when given, is
   * a head read before the catch-up: positions up to it that the catch-up did not find were
   * acknowledged earlier, so live delivery continues after it without waiting on them.
   */
  open(floor = 0): void {
    this.ready = true;
    this.floor = floor;
    this.pull();
  }
  private floor = 0;

  close(): void {
    this.closed = true;
    this.clearGapTimer();
    this.stashMap = null;
  }

  /** A live entry. */
  offer(pos: number, item: T): void {
    if (this.closed || pos <= this.last) return;
    if (this.ready && !this.pulling && pos === this.last + 1) {
      this.deliver(pos, item);
      this.drainStash();
      if (this.stashSize === 0) this.clearGapTimer();
      return;
    }
    if (this.stashSize < this.o.maxStash) this.stash.set(pos, item);
    else {
      // Overflow: the store has it; read it now rather than wait.
      this.pullAgain = true;
      if (this.ready && !this.pulling) this.pull();
      return;
    }
    if (this.ready && !this.pulling) this.waitForGap();
  }

  /**
   * A gap in live entries is usually an entry on its way by another path (a topic message from a
   * sender on another msg_server, routed, overtaken by a local one). Give it `gapWaitMs` to
   * arrive before reading the store: pulling at once cost a quarter of a msg_server's CPU in the
   * topic benchmark, re-reading entries that arrived a millisecond later.
   */
  private waitForGap(): void {
    if (this.gapTimer) return;
    if (this.o.gapWaitMs <= 0) {
      this.pull();
      return;
    }
    this.gapTimer = setTimeout(() => {
      this.gapTimer = null;
      if (!this.closed && this.stashSize > 0) this.pull();
    }, this.o.gapWaitMs);
    this.gapTimer.unref();
  }

  private clearGapTimer(): void {
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.gapTimer = null;
  }

  private gapTimer: NodeJS.Timeout | null = null;

  /** Called by the sweep when the store's head is ahead of us. */
  behind(head: number): void {
    if (this.closed || head <= this.last || head === this.settledHead || this.pulling || !this.ready) {
      this.suspectHead = 0;
      return;
    }
    // Ahead on two consecutive sweeps (not just in flight): pull.
    if (this.suspectHead !== 0 && this.suspectHead <= head) {
      this.suspectHead = 0;
      this.pullingFor = head;
      this.pull();
    } else {
      this.suspectHead = head;
    }
  }

  /**
   * A route to us was lost for sure (a router died with messages in flight): when the store's
   * head is ahead, read the store now, without the sweep's wait for a second look.
   */
  catchUp(head: number): void {
    if (this.closed || !this.ready || head <= this.last) return;
    this.pullAgain = true;
    this.pull();
  }

  /** Read from the store until it has nothing newer, then flush what arrived meanwhile. */
  pull(): void {
    if (this.pulling || this.closed) return;
    this.pulling = true;
    void this.runPull().then(
      () => {
        this.pulling = false;
        this.afterPull();
      },
      (err: unknown) => {
        this.pulling = false;
        this.o.onError(err);
      },
    );
  }

  private async runPull(): Promise<void> {
    // The first catch-up after login steps over holes whatever the store: there they are
    // acknowledged entries, and waiting on each would delay the backlog by holeGraceMs.
    const initial = this.floor > 0 || !this.caughtUp;
    for (;;) {
      this.pullAgain = false;
      const entries = await this.o.pull(this.last, this.o.batch);
      if (this.closed) return;
      for (const [i, e] of entries.entries()) {
        if (e.pos <= this.last) continue;
        if (e.pos > this.last + 1 && !this.o.skipHoles && !initial) {
          // Keep the rest for afterPull, which waits for the hole or skips it after the grace.
          for (const rest of entries.slice(i)) if (this.stashSize < this.o.maxStash) this.stash.set(rest.pos, rest.item);
          return;
        }
        // A catch-up can be far larger than the connection's bound: pace it to the socket.
        if (this.o.congested()) {
          await this.o.writable();
          if (this.closed) return;
        }
        if (e.pos <= this.last) continue;
        if (!this.deliver(e.pos, e.item)) return;
      }
      if (entries.length < this.o.batch && !this.pullAgain) {
        if (initial) {
          this.caughtUp = true;
          if (this.floor > this.last) this.last = this.floor;
          this.floor = 0;
        }
        return;
      }
      await this.o.writable();
      if (this.closed) return;
    }
  }

  private afterPull(): void {
    if (this.closed) return;
    if (this.pullingFor > this.last) this.settledHead = this.pullingFor;
    this.pullingFor = 0;
    this.drainStash();
    if (this.stashSize === 0) {
      this.holeSince = 0;
      return;
    }
    // Something newer is stashed but its predecessor is missing from the store.
    const now = Date.now();
    if (this.holeSince === 0) this.holeSince = now;
    if (now - this.holeSince >= this.o.holeGraceMs) {
      // Never committed: skip the hole.
      this.holeSince = 0;
      const min = Math.min(...this.stash.keys());
      this.last = min - 1;
      this.drainStash();
      if (this.stashSize > 0) this.retryLater();
      return;
    }
    this.retryLater();
  }

  private retryLater(): void {
    setTimeout(() => this.pull(), Math.min(100, this.o.holeGraceMs)).unref();
  }

  private drainStash(): void {
    if (this.stashSize === 0) return;
    for (const pos of [...this.stash.keys()]) if (pos <= this.last) this.stash.delete(pos);
    for (;;) {
      const item = this.stash.get(this.last + 1);
      if (item === undefined) return;
      this.stash.delete(this.last + 1);
      if (!this.deliver(this.last + 1, item)) return;
    }
  }

  private deliver(pos: number, item: T): boolean {
    this.last = pos;
    if (!this.o.push(pos, item)) {
      this.close();
      return false;
    }
    return true;
  }
}
