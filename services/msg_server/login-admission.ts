import type { LoginAdmissionConfig } from "./config.js";

/**
 * Until the server has been measured at full load: one login completes every this many ms per
 * slot of the bound (64 slots: 2,000 logins per second). Optimistic on purpose: a wait too short
 * costs a refusal more (a line and a reply on the same connection), a wait too long leaves the
 * server idle while clients sit out their turn.
 */
const ASSUMED_MS_PER_SLOT = 32;
/** Completions are counted in buckets of this length... */
const BUCKET_MS = 250;
/** ...and the last this many complete ones are kept. */
const BUCKETS = 8;
/** The wait handed out is the queue position's ± this fraction, so equal positions do not return together. */
const JITTER = 0.2;

interface Bucket {
  done: number;
  /** Logins waited or were refused in it: the server was at full load, so `done` is what it can take. */
  full: boolean;
}

/** Releases a login's slot; idempotent. */
export type Release = () => void;

/**
 * Admission control of the login path: at most `maxInProgress` logins of this process at once,
 * counted from the start of the token check to the end of the login sync (directory claim,
 * inbox and topic sync); up to `maxQueued` more wait for a slot in arrival order, costing nothing
 * until they get one. A login beyond both is refused before any work is done, with a wait
 * (`ERR IM_ERR_RATE_LIMITED ... <retryAfterMs>`) chosen like a ticket in a virtual queue behind
 * the real one: each refusal takes the next place, places are as far apart as the server
 * completes logins at full load (the busiest recent quarter second in which logins waited or were
 * refused: its throughput, whatever a login's duration), and the wait is that place, jittered.
 * So a storm of N clients comes back spread over about the time the server needs to take N
 * logins, the first refused first, while the queue keeps the server busy between their returns.
 */
export class LoginAdmission {
  private running = 0;
  private readonly waiting: ((release: Release) => void)[] = [];
  /** The last BUCKETS complete buckets, oldest first. */
  private readonly past: Bucket[] = [];
  private current: Bucket = { done: 0, full: false };
  private currentStart: number;
  /** When the virtual queue of refused logins drains (monotonic ms). */
  private queueEnd = 0;

  constructor(
    private readonly cfg: LoginAdmissionConfig,
    private readonly now: () => number = () => performance.now(),
    private readonly random: () => number = Math.random,
  ) {
    this.currentStart = now();
  }

  get inProgress(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Logins per second the server is taken to complete (the queue's spacing). */
  get ratePerSec(): number {
    this.roll();
    const atFullLoad = this.past.filter((b) => b.full).map((b) => b.done);
    const best = Math.max(0, ...atFullLoad);
    return best > 0 ? (best * 1000) / BUCKET_MS : (this.cfg.maxInProgress * 1000) / ASSUMED_MS_PER_SLOT;
  }

  /**
   * A slot for one login: at once, or a promise of one (queued), or null when the queue is full
   * too (refuse it). The slot also frees itself `maxHoldMs` after it was given, so a login whose
   * sync never settles (a hung store read) cannot keep it for ever and starve later logins.
   */
  enter(): Release | Promise<Release> | null {
    this.roll();
    if (this.running < this.cfg.maxInProgress) {
      this.running++;
      return this.slot();
    }
    this.current.full = true;
    if (this.waiting.length >= this.cfg.maxQueued) return null;
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** A slot already counted in `running`. */
  private slot(): Release {
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(cap);
      this.roll();
      this.current.done++;
      const next = this.waiting.shift();
      // The slot goes straight to the next in line: `running` stays, nobody can jump the queue.
      if (next) next(this.slot());
      else this.running--;
    };
    const cap = setTimeout(release, this.cfg.maxHoldMs);
    cap.unref();
    return release;
  }

  /**
   * The wait for a login refused just now: retryAfterMinMs plus its place in the virtual queue
   * behind the real one, both jittered (never below the minimum), at most retryAfterMaxMs.
   */
  retryAfterMs(): number {
    const { retryAfterMinMs: min, retryAfterMaxMs: max } = this.cfg;
    const now = this.now();
    const spacing = 1000 / this.ratePerSec;
    const behindQueue = now + this.waiting.length * spacing;
    this.queueEnd = Math.min(Math.max(this.queueEnd, behindQueue) + spacing, now + max);
    const place = this.queueEnd - now;
    const r = this.random();
    return Math.round(Math.min(max, min * (1 + JITTER * r) + place * (1 - JITTER + 2 * JITTER * r)));
  }

  /** Close the current bucket and start empty ones for the time passed, keeping the last BUCKETS. */
  private roll(): void {
    const now = this.now();
    if (now - this.currentStart < BUCKET_MS) return;
    const passed = Math.floor((now - this.currentStart) / BUCKET_MS);
    this.past.push(this.current);
    for (let i = 1; i < Math.min(passed, BUCKETS); i++) this.past.push({ done: 0, full: false });
    this.past.splice(0, Math.max(0, this.past.length - BUCKETS));
    // Logins still waiting: the new quarter second starts at full load.
    this.current = { done: 0, full: this.waiting.length > 0 };
    this.currentStart += passed * BUCKET_MS;
  }
}
