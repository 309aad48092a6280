import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import { addressKey } from "./address.js";
import type { LimitsConfig } from "./config.js";

/**
 * Per-source-address limits. Counting per address in fixed windows is what rate-limiter-flexible
 * is built for: its memory store gives every key an expiry, so an entry lives one window (or one
 * block) and memory follows the addresses seen lately, never all addresses ever seen.
 */

/** Open connections per address. Entries exist only while the address has connections open. */
export class ConnectionLimiter {
  private readonly open = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly ipv6PrefixBits = 64,
  ) {}

  /**
   * Counts a new connection from `remoteAddress`. Returns its release function (call it once when
   * the socket closes; further calls do nothing), or null when the address is at its maximum.
   */
  acquire(remoteAddress: string | undefined): (() => void) | null {
    const key = addressKey(remoteAddress, this.ipv6PrefixBits);
    const n = this.open.get(key) ?? 0;
    if (n >= this.max) return null;
    this.open.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left <= 0) this.open.delete(key);
      else this.open.set(key, left);
    };
  }

  count(remoteAddress: string | undefined): number {
    return this.open.get(addressKey(remoteAddress, this.ipv6PrefixBits)) ?? 0;
  }

  /** Addresses with at least one open connection (the size of the map). */
  get addresses(): number {
    return this.open.size;
  }
}

/** ms before the next point, from what consume() rejects with; anything else is a real error. */
function retryAfter(rejection: unknown): number {
  if (rejection instanceof RateLimiterRes) return Math.max(1, Math.ceil(rejection.msBeforeNext));
  throw rejection;
}

/** Login attempts per address per window, successful or not. */
export class LoginRateLimiter {
  private readonly limiter: RateLimiterMemory;
  private readonly ipv6PrefixBits: number;

  constructor(cfg: Pick<LimitsConfig, "loginAttemptsPerAddress" | "loginWindowSec" | "ipv6PrefixBits">) {
    this.limiter = new RateLimiterMemory({ points: cfg.loginAttemptsPerAddress, duration: cfg.loginWindowSec, keyPrefix: "login" });
    this.ipv6PrefixBits = cfg.ipv6PrefixBits;
  }

  /** Counts one attempt. Resolves 0 when allowed, else the ms until the address may try again. */
  async attempt(remoteAddress: string | undefined): Promise<number> {
    try {
      await this.limiter.consume(addressKey(remoteAddress, this.ipv6PrefixBits));
      return 0;
    } catch (rejection) {
      return retryAfter(rejection);
    }
  }
}

/**
 * Failed logins per address. Check blockedFor() before verifying (a blocked address gets no token
 * check at all), call recordFailure() after a failure. Successes do not reset the count: one valid
 * token must not buy an attacker fresh guesses.
 */
export class FailedAuthLimiter {
  private readonly limiter: RateLimiterMemory;
  private readonly ipv6PrefixBits: number;

  constructor(cfg: Pick<LimitsConfig, "failedAuthPerAddress" | "failedAuthWindowSec" | "failedAuthBlockSec" | "ipv6PrefixBits">) {
    // The library rejects (and starts the block) when consumed > points, so the Nth failure is the last.
    this.limiter = new RateLimiterMemory({
      points: cfg.failedAuthPerAddress - 1,
      duration: cfg.failedAuthWindowSec,
      blockDuration: cfg.failedAuthBlockSec,
      keyPrefix: "authfail",
    });
    this.ipv6PrefixBits = cfg.ipv6PrefixBits;
  }

  /** Ms the address stays blocked, 0 when it may log in. */
  async blockedFor(remoteAddress: string | undefined): Promise<number> {
    const res = await this.limiter.get(addressKey(remoteAddress, this.ipv6PrefixBits));
    return res !== null && res.consumedPoints > this.limiter.points ? Math.max(1, Math.ceil(res.msBeforeNext)) : 0;
  }

  /** Counts a failure. Resolves 0, or the block's length in ms when this failure started it. */
  async recordFailure(remoteAddress: string | undefined): Promise<number> {
    try {
      await this.limiter.consume(addressKey(remoteAddress, this.ipv6PrefixBits));
      return 0;
    } catch (rejection) {
      return retryAfter(rejection);
    }
  }
}

/** The per-address limiters of one process, from its `limits` config. */
export interface AddressLimits {
  connections: ConnectionLimiter;
  logins: LoginRateLimiter;
  failedAuth: FailedAuthLimiter;
}

export function createAddressLimits(cfg: LimitsConfig): AddressLimits {
  return {
    connections: new ConnectionLimiter(cfg.maxConnectionsPerAddress, cfg.ipv6PrefixBits),
    logins: new LoginRateLimiter(cfg),
    failedAuth: new FailedAuthLimiter(cfg),
  };
}
