/**
 * Reconnect delays: exponential from `minMs` to `maxMs`, each drawn at random from the upper half
 * of its step ("equal jitter"), so a msg_server that drops thousands of pages at once is not
 * hit by all of them again in the same instant, and no page waits much less than the step.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly minMs = 500,
    private readonly maxMs = 15_000,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const step = Math.min(this.maxMs, this.minMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(step / 2 + (this.random() * step) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }
}
