import type { LimitsConfig } from "./config.js";

/**
 * A token bucket: holds up to `capacity` tokens, refilled at `ratePerSec`. Time is in ms from a
 * monotonic clock, so a wall-clock step cannot refill or drain it.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly capacity: number,
    private readonly ratePerSec: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.ratePerSec) / 1000);
      this.last = now;
    }
  }

  /** Ms until `cost` tokens are available (0: now). A cost above the capacity waits for a full bucket. */
  waitFor(cost: number, now: number): number {
    this.refill(now);
    const need = Math.min(cost, this.capacity);
    // The epsilon absorbs float error, so that waiting exactly the advertised time is always enough.
    const missing = need - this.tokens - 1e-9;
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.ratePerSec);
  }

  take(cost: number): void {
    this.tokens -= Math.min(cost, this.capacity);
  }

  get available(): number {
    return this.tokens;
  }
}

export type SendLimits = Pick<LimitsConfig, "sendMessagesPerSec" | "sendBurstMessages" | "sendBytesPerSec" | "sendBurstBytes">;

/**
 * Per-session send rate: a message bucket and a byte bucket, both of which must allow a message.
 * Not rate-limiter-flexible: that library counts in fixed windows (twice the rate can pass across
 * a window edge) behind a Promise and a shared map; this one is two numbers on the session,
 * synchronous on the hot path, and goes away with the session.
 */
export class SendLimiter {
  private readonly messages: TokenBucket;
  private readonly bytes: TokenBucket;

  constructor(
    cfg: SendLimits,
    private readonly now: () => number = () => performance.now(),
  ) {
    const t = now();
    this.messages = new TokenBucket(cfg.sendBurstMessages, cfg.sendMessagesPerSec, t);
    this.bytes = new TokenBucket(cfg.sendBurstBytes, cfg.sendBytesPerSec, t);
  }

  /**
   * Accounts for one message of `bodyBytes`. Returns 0 when it may be sent (and counts it), or the
   * ms after which it would be allowed (`ERR IM_ERR_RATE_LIMITED <retryAfterMs>`; nothing counted).
   */
  take(bodyBytes: number): number {
    const t = this.now();
    const wait = Math.max(this.messages.waitFor(1, t), this.bytes.waitFor(bodyBytes, t));
    if (wait > 0) return wait;
    this.messages.take(1);
    this.bytes.take(bodyBytes);
    return 0;
  }
}
