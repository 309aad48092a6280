/**
 * Deliberate faults between the tool's receivers and the checker, so a test can prove the checker
 * fails a run (`--inject-loss N`, `--inject-dup N`, `--inject-reorder N`). The first few deliveries
 * pass untouched so faults land in the middle of streams, where they are hardest to see.
 * Pure: deliveries in, deliveries out; the caller feeds the output to the checker.
 */
export interface Delivery {
  recipient: number;
  sender: number;
  seq: number;
  sendUs: number;
  recvUs: number;
}

export interface InjectOptions {
  loss: number;
  dup: number;
  reorder: number;
}

const PASS_FIRST = 10;

export class FaultInjector {
  private seen = 0;
  private loss: number;
  private dup: number;
  private reorder: number;
  /** A delivery held back until the next one of the same stream overtakes it. */
  private held: Delivery | null = null;

  constructor(opts: InjectOptions) {
    this.loss = opts.loss;
    this.dup = opts.dup;
    this.reorder = opts.reorder;
  }

  get active(): boolean {
    return this.loss + this.dup + this.reorder > 0 || this.held !== null;
  }

  feed(d: Delivery, sink: (d: Delivery) => void): void {
    const h = this.held;
    if (h && h.recipient === d.recipient && h.sender === d.sender) {
      this.held = null;
      sink(d);
      sink(h); // arrives after a later message of its stream: out of order
      return;
    }
    if (++this.seen <= PASS_FIRST) {
      sink(d);
      return;
    }
    if (this.loss > 0) {
      this.loss--;
      return;
    }
    if (this.dup > 0) {
      this.dup--;
      sink(d);
      sink(d);
      return;
    }
    if (this.reorder > 0 && h === null) {
      this.reorder--;
      this.held = d;
      return;
    }
    sink(d);
  }

  /** End of run: a still-held delivery is released (late, but delivered). */
  flush(sink: (d: Delivery) => void): void {
    if (this.held) sink(this.held);
    this.held = null;
  }
}
