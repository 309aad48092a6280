import { RateLimitedError } from "../errors.js";
import { Backoff } from "../net/backoff.js";

/** A server's retryAfterMs is honoured up to this: a wrong (or hostile) value must not park a client for hours. */
const MAX_RETRY_AFTER_MS = 120_000;

/**
 * When a client tries again after a failed (re-)login: exponential backoff with full jitter
 * (shared/net/backoff.ts) for failures that say nothing about when to come back (the
 * connection dropped, the gateway or the msg_server did not answer), and the server's own wait
 * for `IM_ERR_RATE_LIMITED <retryAfterMs>` (admission control during a reconnect storm, the
 * per-address login limit). The server jitters that wait and spaces it by its queue, so it is
 * taken as given, not pushed further by the backoff; it does not count as a backoff step either:
 * a client that waited its turn is not punished for having been told to wait.
 */
export class ReconnectPolicy {
  private readonly backoff: Backoff;

  constructor(minMs: number, maxMs: number, random: () => number = Math.random) {
    this.backoff = new Backoff(minMs, maxMs, random);
  }

  /** The wait before the next attempt after `err` (an attempt that failed) or after a lost connection (no error). */
  next(err?: unknown): number {
    if (err instanceof RateLimitedError && err.retryAfterMs > 0) return Math.min(err.retryAfterMs, MAX_RETRY_AFTER_MS);
    return this.backoff.next();
  }

  /** A login succeeded: the next loss starts the backoff from its minimum. */
  reset(): void {
    this.backoff.reset();
  }
}
