import { Redis } from "ioredis";
import type { RedisConfig } from "../../shared/config/common.js";
import type { Logger } from "../../shared/log/logger.js";
import { describeRedisError, isNotConnected, redisAddr } from "./redis-words.js";

/** What one probe found. */
export interface RedisProbe {
  ok: boolean;
  /** PING round trip, when it answered. */
  latencyMs: number | null;
  /** Worded for people (redis-words.ts); null when ok. */
  error: string | null;
}

/** The probe as collector.ts uses it; main.ts passes a RedisHealth, tests may pass their own. */
export interface RedisProber {
  /** Where Redis is, as the configuration says. */
  readonly addr: string;
  probe(): Promise<RedisProbe>;
  /** Word an error of another Redis client (the registry's) with what this one knows. */
  describe(err: unknown): string;
  close(): void;
}

/**
 * The monitor's own view of Redis: a dedicated connection that PINGs once per sample. It is
 * separate from the Bus connection because that one queues commands while disconnected and then
 * reports only "max retries"; this one fails at once and keeps the connection error (refused,
 * unresolvable, wrong password), which is what the dashboard shows.
 */
export class RedisHealth implements RedisProber {
  readonly addr: string;
  private readonly redis: Redis;
  /** The last connection-level error, reported by ioredis' error event. */
  private lastConnError: unknown = null;

  constructor(
    private readonly cfg: RedisConfig,
    private readonly timeoutMs: number,
    log: Logger,
  ) {
    this.addr = redisAddr(cfg.host, cfg.port);
    this.redis = new Redis({
      host: cfg.host,
      port: cfg.port,
      db: cfg.db,
      password: cfg.password || undefined,
      connectionName: "monitor:health",
      connectTimeout: cfg.connectTimeoutMs,
      // Fail a PING at once while disconnected instead of queueing it: the monitor samples again soon.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: timeoutMs,
      // Re-dial quickly, so the dashboard shows a Redis restart within a second or so.
      retryStrategy: (times) => Math.min(100 * times, 1000),
    });
    this.redis.on("error", (err: Error) => {
      this.lastConnError = err;
      log.debug({ err }, "redis health connection error");
    });
    // A server that dies closes the socket without an error; the re-dial's error (refused) follows.
    this.redis.on("close", () => {
      this.lastConnError ??= Object.assign(new Error("connection closed"), { code: "ECONNRESET" });
    });
    this.redis.on("ready", () => {
      this.lastConnError = null;
    });
  }

  async probe(): Promise<RedisProbe> {
    // Still dialling with no error yet (start-up, or a re-dial under way): give it the probe's time.
    if (this.redis.status !== "ready" && this.lastConnError === null) await this.ready(this.timeoutMs);
    const t0 = performance.now();
    try {
      await this.redis.ping();
      return { ok: true, latencyMs: performance.now() - t0, error: null };
    } catch (err) {
      return { ok: false, latencyMs: null, error: this.describe(err) };
    }
  }

  private ready(withinMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.redis.off("ready", done);
        this.redis.off("error", done);
        resolve();
      };
      const timer = setTimeout(done, withinMs);
      this.redis.once("ready", done);
      this.redis.once("error", done);
    });
  }

  describe(err: unknown): string {
    const cause = isNotConnected(err) && this.lastConnError ? this.lastConnError : err;
    return describeRedisError(cause, this.cfg, this.timeoutMs);
  }

  close(): void {
    this.redis.disconnect();
  }
}
