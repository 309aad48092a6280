/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff and Jitter"):
 * spreads reconnect storms after a msg_server restart instead of synchronising them.
 */
export class Backoff {
  private attempt = 0;
  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const cap = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.attempt, 20));
    this.attempt++;
    return Math.round(this.minMs / 2 + this.random() * (cap - this.minMs / 2));
  }

  reset(): void {
    this.attempt = 0;
  }
}
