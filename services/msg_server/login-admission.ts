import type { LoginAdmissionConfig } from "./config.js";

/** A login's duration assumed before the first one completes, ms. */
const FIRST_GUESS_MS = 50;
/** Weight of each completed login in the running mean of login durations. */
const EWMA_WEIGHT = 0.05;
/** The wait handed out is the queue position's ± this fraction, so equal positions do not return together. */
const JITTER = 0.2;

/**
 * Admission control of the login path: at most `maxInProgress` logins of this process at once,
 * counted from the start of the token check to the end of the login sync (directory claim,
 * inbox and topic sync). A login beyond it is refused before any work is done, with a
 * wait (`ERR IM_ERR_RATE_LIMITED ... <retryAfterMs>`) chosen like a ticket in a virtual queue:
 * each refusal takes the next place, places are as far apart as logins complete (the mean login
 * duration over the bound: Little's law with the bound full), and the wait is that place, jittered.
 * So a storm of N refused clients comes back spread over about the time the server needs to take
 * N logins, instead of all at once again; the first refused come back first.
 */
export class LoginAdmission {
  private running = 0;
  private meanMs = FIRST_GUESS_MS;
  /** When the virtual queue of refused logins drains (monotonic ms). */
  private queueEnd = 0;

  constructor(
    private readonly cfg: LoginAdmissionConfig,
    private readonly now: () => number = () => performance.now(),
    private readonly random: () => number = Math.random,
  ) {}

  get inProgress(): number {
    return this.running;
  }

  /**
   * A slot for one login, or null when `maxInProgress` logins are running. The release function
   * is idempotent; it also runs by itself after `maxHoldMs`, so a login whose sync never settles
   * (a hung store read) cannot keep its slot for ever and starve later logins.
   */
  tryEnter(): (() => void) | null {
    if (this.running >= this.cfg.maxInProgress) return null;
    this.running++;
    const started = this.now();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(cap);
      this.running--;
      this.meanMs += EWMA_WEIGHT * (this.now() - started - this.meanMs);
    };
    const cap = setTimeout(release, this.cfg.maxHoldMs);
    cap.unref();
    return release;
  }

  /**
   * The wait for a login refused just now: retryAfterMinMs plus its place in the virtual queue,
   * both jittered (never below the minimum), at most retryAfterMaxMs.
   */
  retryAfterMs(): number {
    const { retryAfterMinMs: min, retryAfterMaxMs: max, maxInProgress } = this.cfg;
    const now = this.now();
    const spacing = Math.max(this.meanMs, 1) / maxInProgress;
    this.queueEnd = Math.min(Math.max(this.queueEnd, now) + spacing, now + max);
    const place = this.queueEnd - now;
    const r = this.random();
    return Math.round(Math.min(max, min * (1 + JITTER * r) + place * (1 - JITTER + 2 * JITTER * r)));
  }

  /** The running mean of login durations, ms (how the queue is spaced). */
  get meanLoginMs(): number {
    return this.meanMs;
  }
}
