import { RateLimitedError } from "../errors.js";
import { Backoff } from "../net/backoff.js";
import type { FishChatClient } from "./client.js";

/** A server's retryAfterMs is honoured up to this: a wrong (or hostile) value must not park a client for hours. */
const MAX_RETRY_AFTER_MS = 120_000;
/**
 * A refused login is sent again on the same connection when it can be within this time of the
 * first attempt: below the msg_server's login deadline (loginTimeoutMs, 10 s from connect by
 * default), which would close the connection. A new connection through the gateway would cost
 * the server an accept and a connection more.
 */
const SAME_CONNECTION_BUDGET_MS = 7000;

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

  /**
   * Log in on a connected client; a login refused with a short wait (admission control) is sent
   * again on the same connection after it, as long as the connection stays open and the login
   * deadline is not near. `onWait` hears
   * each such wait. Anything else, or a longer wait, is thrown: the caller closes and comes back
   * through the gateway after next(err).
   */
  async login(c: FishChatClient, clientId: string, token: string | undefined, onWait?: (ms: number, err: RateLimitedError) => void): Promise<void> {
    const started = Date.now();
    for (;;) {
      try {
        await c.login(clientId, token);
        return;
      } catch (err) {
        if (!(err instanceof RateLimitedError) || c.closed) throw err;
        const wait = this.next(err);
        if (Date.now() + wait - started > SAME_CONNECTION_BUDGET_MS) throw err;
        onWait?.(wait, err);
        await new Promise((r) => setTimeout(r, wait));
        if (c.closed) throw err;
      }
    }
  }

  /** A login succeeded: the next loss starts the backoff from its minimum. */
  reset(): void {
    this.backoff.reset();
  }
}
