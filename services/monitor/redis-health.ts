import { Cluster, Redis } from "ioredis";
import type { RedisConfig } from "../../shared/config/common.js";
import type { Logger } from "../../shared/log/logger.js";
import { describeRedisError, isNotConnected, redisAddr, type RedisWhere } from "./redis-words.js";

/** What one probe found. */
export interface RedisProbe {
  ok: boolean;
  /** PING round trip, when it answered. */
  latencyMs: number | null;
  /** Worded for people (redis-words.ts); null when ok. */
  error: string | null;
  /** Answering, but not wholly well (a Redis Cluster with slots no master serves); null when well. */
  warning?: string | null;
}

/** The probe as collector.ts uses it; main.ts passes a RedisHealth, tests may pass their own. */
export interface RedisProber {
  /** Where Redis is, as the configuration says ("127.0.0.1:6379", "cluster 10.0.0.1:7000, …"). */
  readonly addr: string;
  /** The same as the subject of a sentence: "Redis at 127.0.0.1:6379", "Redis Cluster 10.0.0.1:7000, …". */
  readonly subject: string;
  probe(): Promise<RedisProbe>;
  /** Word an error of another Redis client (the registry's) with what this one knows. */
  describe(err: unknown): string;
  close(): void;
}

/** Re-dial quickly, so the dashboard shows a Redis restart within a second or so. */
const retry = (times: number) => Math.min(100 * times, 1000);

const list = (nodes: readonly { host: string; port: number }[]) => nodes.map((n) => redisAddr(n.host, n.port)).join(", ");

/** How the configuration names Redis, for people: the address, or the nodes it is found through. */
export function redisLabel(cfg: RedisConfig): string {
  if (cfg.cluster) return `cluster ${list(cfg.cluster)}`;
  if (cfg.sentinel) return `master "${cfg.sentinel.name}" via sentinels ${list(cfg.sentinel.nodes)}`;
  return redisAddr(cfg.host, cfg.port);
}

/** The same as a sentence's subject. */
export function redisSubject(cfg: RedisConfig): string {
  if (cfg.cluster) return `Redis Cluster ${list(cfg.cluster)}`;
  if (cfg.sentinel) return `Redis master "${cfg.sentinel.name}" (sentinels ${list(cfg.sentinel.nodes)})`;
  return `Redis at ${redisAddr(cfg.host, cfg.port)}`;
}

/**
 * A client for the probe alone, on the same topology as the Bus: fails a PING at once while
 * disconnected instead of queueing it (the monitor samples again soon), and never retries one.
 */
function probeClient(cfg: RedisConfig, timeoutMs: number): Redis | Cluster {
  const common = { password: cfg.password || undefined, connectionName: "monitor:health", connectTimeout: cfg.connectTimeoutMs, commandTimeout: timeoutMs, maxRetriesPerRequest: 0 };
  if (cfg.cluster) {
    return new Cluster(
      cfg.cluster.map((n) => ({ host: n.host, port: n.port })),
      { enableOfflineQueue: false, clusterRetryStrategy: retry, slotsRefreshTimeout: cfg.connectTimeoutMs, redisOptions: common },
    );
  }
  const where = cfg.sentinel
    ? { sentinels: cfg.sentinel.nodes.map((n) => ({ host: n.host, port: n.port })), name: cfg.sentinel.name, sentinelPassword: cfg.sentinel.password || undefined, role: "master" as const, sentinelRetryStrategy: retry }
    : { host: cfg.host, port: cfg.port };
  return new Redis({ ...where, ...common, db: cfg.db, enableOfflineQueue: false, retryStrategy: retry });
}

/** null for `cluster_state:ok`, else what is wrong, from CLUSTER INFO. */
export function clusterWarning(info: string, subject: string): string | null {
  const field = (name: string) => new RegExp(`^${name}:(\\S+)`, "m").exec(info)?.[1];
  const state = field("cluster_state");
  if (state === undefined || state === "ok") return null;
  const assigned = Number(field("cluster_slots_ok") ?? Number.NaN);
  const slots = Number.isFinite(assigned) ? `, ${16384 - assigned} of 16384 slots not served` : "";
  return `${subject} reports cluster_state:${state}${slots}: keys in those slots cannot be read or written`;
}

/**
 * The monitor's own view of Redis: a dedicated connection that PINGs once per sample. It is
 * separate from the Bus connection because that one queues commands while disconnected and then
 * reports only "max retries"; this one fails at once and keeps the connection error (refused,
 * unresolvable, wrong password), which is what the dashboard shows.
 */
export class RedisHealth implements RedisProber {
  readonly addr: string;
  readonly subject: string;
  private readonly where: RedisWhere;
  private readonly redis: Redis | Cluster;
  /** The last connection-level error, reported by ioredis' error events. */
  private lastConnError: unknown = null;
  /** The server of the current connection (behind Sentinel: the master it named), to name it when it drops. */
  private peer: { address: string; port: number } | null = null;

  constructor(
    cfg: RedisConfig,
    private readonly timeoutMs: number,
    log: Logger,
  ) {
    this.addr = redisLabel(cfg);
    this.subject = redisSubject(cfg);
    this.where = { host: cfg.host, port: cfg.port, subject: this.subject };
    this.redis = probeClient(cfg, timeoutMs);
    const onError = (err: Error) => {
      log.debug({ err }, "redis health connection error");
      // "Connection is closed" says nothing the error before it did not: keep that one. (A
      // Cluster whose nodes are all gone alternates between its "all nodes failed" error and
      // each re-dialled node's "Connection is closed", so the wording flipped from sample to
      // sample, and on a loaded machine stayed on the empty one.)
      if (isNotConnected(err) && this.lastConnError !== null) return;
      this.lastConnError = err;
    };
    this.redis.on("error", onError);
    // A Cluster reports each node's failure here, with that node's address.
    this.redis.on("node error", onError);
    // A server that dies closes the socket without an error; the re-dial's error (refused) follows.
    this.redis.on("close", () => {
      this.lastConnError ??= Object.assign(new Error("connection closed"), { code: "ECONNRESET" }, this.peer ?? {});
    });
    this.redis.on("ready", () => {
      this.lastConnError = null;
      const stream = this.redis instanceof Redis ? this.redis.stream : undefined;
      this.peer = stream?.remoteAddress && stream.remotePort ? { address: stream.remoteAddress, port: stream.remotePort } : null;
    });
  }

  async probe(): Promise<RedisProbe> {
    // Still dialling with no error yet (start-up, or a re-dial under way): give it the probe's time.
    if (this.redis.status !== "ready" && this.lastConnError === null) await this.ready(this.timeoutMs);
    const t0 = performance.now();
    try {
      await this.redis.ping();
      const latencyMs = performance.now() - t0;
      // A Cluster answers PING while some of its slots have no master; the nodes know.
      const warning = this.redis instanceof Cluster ? clusterWarning(String(await this.redis.cluster("INFO")), this.subject) : null;
      return { ok: true, latencyMs, error: null, warning };
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
    return describeRedisError(cause, this.where, this.timeoutMs);
  }

  close(): void {
    this.redis.disconnect();
  }
}
