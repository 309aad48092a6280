import { z } from "zod";
import { tlsClientSchema } from "../net/tls-config.js";

/** "host:port" with a port in range; "0.0.0.0:19000", "127.0.0.1:0" (0 = any free port, for tests). */
export const hostPort = z
  .string()
  .regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'expected "host:port"')
  .refine((s) => Number(s.slice(s.lastIndexOf(":") + 1)) <= 65535, "port out of range");

export function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(":");
  let host = addr.slice(0, i);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  return { host, port: Number(addr.slice(i + 1)) };
}

const ms = z.number().int().nonnegative();
const positiveMs = z.number().int().positive();

const redisSeed = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
});

const REDIS_DEFAULT_HOST = "127.0.0.1";
const REDIS_DEFAULT_PORT = 6379;

/**
 * Where Redis is and how to talk to it. Three topologies (docs/REDIS.md): a standalone server
 * (`host`/`port`, the default), a master with replicas watched by Redis Sentinel (`sentinel`), or
 * a Redis Cluster (`cluster`, a list of seed nodes). `password`, `keyPrefix` and
 * `connectTimeoutMs` apply to all three; at most one of `host`/`port`, `sentinel`, `cluster`.
 */
export const redisSchema = z
  .strictObject({
    /** Standalone Redis. Default 127.0.0.1:6379; not allowed together with `cluster`. */
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    /** Standalone only: Redis Cluster has database 0 alone. */
    db: z.number().int().min(0).max(15).default(0),
    /** Redis AUTH password (every node's, on a cluster); empty = none. */
    password: z.string().default(""),
    /** Prefix of every key and pub/sub channel FishChat writes, so several clusters can share one Redis. */
    keyPrefix: z.string().default("fc:"),
    connectTimeoutMs: positiveMs.default(2000),
    /**
     * Redis Cluster: some of its nodes as [{ "host", "port" }, ...] (any node will do, the others
     * are discovered from it; list several so a service can start while one is down). Addresses
     * must be the ones the nodes announce (no NAT mapping). Absent: standalone Redis.
     */
    cluster: z.array(redisSeed).min(1, "list at least one seed node, or leave redis.cluster out for a standalone Redis").optional(),
    /**
     * Redis Sentinel: the master is whichever server the sentinels name, and services follow it
     * across failovers. Absent: no Sentinel. `db` and `password` are the data servers'.
     */
    sentinel: z
      .strictObject({
        /** The monitored master's name (`sentinel monitor <name> ...` in the sentinels' config). */
        name: z.string().min(1),
        /** Some of the sentinels (any one that answers will do; list all so one down does not matter). */
        nodes: z.array(redisSeed).min(1, "list at least one sentinel"),
        /** The sentinels' own password (their requirepass), if they have one. */
        password: z.string().default(""),
      })
      .optional(),
  })
  .superRefine((v, ctx) => {
    if (v.sentinel && (v.host !== undefined || v.port !== undefined)) {
      ctx.addIssue({ code: "custom", path: ["sentinel"], message: "redis.sentinel and redis.host/port are mutually exclusive: the sentinels name the master" });
    }
    if (v.sentinel && v.cluster) {
      ctx.addIssue({ code: "custom", path: ["sentinel"], message: "redis.sentinel and redis.cluster are mutually exclusive: Redis Cluster fails over by itself" });
    }
    if (!v.cluster) return;
    if (v.host !== undefined || v.port !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["cluster"],
        message: "redis.cluster and redis.host/port are mutually exclusive: list the cluster's nodes in redis.cluster only",
      });
    }
    if (v.db !== 0) ctx.addIssue({ code: "custom", path: ["db"], message: "Redis Cluster has only database 0: leave redis.db out" });
    if (/[{}]/.test(v.keyPrefix)) {
      // FishChat's own hash tags decide which keys share a slot (shared/bus/keys.ts); a tag in the prefix would override them.
      ctx.addIssue({ code: "custom", path: ["keyPrefix"], message: "with redis.cluster, keyPrefix must not contain { or } (hash tags are FishChat's, see docs/REDIS.md)" });
    }
  })
  .transform((v) => ({ ...v, host: v.host ?? REDIS_DEFAULT_HOST, port: v.port ?? REDIS_DEFAULT_PORT }))
  .prefault({});
export type RedisConfig = z.output<typeof redisSchema>;

export const storeSchema = z
  .strictObject({
    /** Empty: the embedded LMDB store under dataDir. Set (or env FISHCHAT_MONGO_URI): MongoDB. */
    mongoUri: z.string().default(""),
    mongoDb: z.string().min(1).default("im"),
    dataDir: z.string().min(1).default("./data"),
    /** Unacknowledged p2p messages one recipient may hold before sends to it are refused. */
    inboxMaxPending: z.number().int().positive().default(10_000),
    /**
     * Largest attachment (file, image, voice note) in bytes: an upload is refused (HTTP 413) as
     * soon as one byte more has arrived, and nothing of it is kept. @default 26214400 (25 MiB)
     */
    attachmentMaxBytes: z.number().int().positive().default(25 * 1024 * 1024),
    /**
     * LMDB: when an acknowledged message counts as safe. "commit" (default): survives any process
     * crash, flushed to disk right after. "flush": waits for the fsync, survives power loss. "os":
     * no fsync, lowest latency, a power loss can lose or corrupt recent data. See docs/STORE.md.
     */
    durability: z.enum(["commit", "flush", "os"]).default("commit"),
    /**
     * LMDB: a write of ours pending this long makes us look for a process sharing the store that
     * is stopped (SIGSTOP, debugger, cgroup freeze) and so holds its write lock for everyone, and
     * kill it (shared/store/lmdb-stall-guard.ts). 0 never kills. @default 500
     */
    stalledWriterKillMs: z.number().int().nonnegative().default(500),
  })
  .prefault({});
export type StoreConfig = z.output<typeof storeSchema>;

/** Keys every service accepts. */
export const commonKeys = {
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  redis: redisSchema,
  /**
   * Shared secret of internal links (router, manager, monitor -> msg_server). Internal commands are
   * refused on connections that did not send `AUTH <secret>` first.
   */
  clusterSecret: z.string().min(8, "clusterSecret must have at least 8 characters"),
  /** Max bytes of one line or one packet frame, on every port. */
  maxLineBytes: z.number().int().min(256).max(16 * 1024 * 1024).default(64 * 1024),
  /** How often this process refreshes its registry entry in Redis. */
  heartbeatMs: positiveMs.default(1000),
  /** A process whose heartbeat is older than this is considered down. */
  registryTtlMs: positiveMs.default(5000),
};

/** Seeds and reconnection of a service that dials every msg_server. */
export const linkKeys = {
  /** Seed list; live msg_servers are discovered from the Redis registry as well. */
  msgServerList: z.array(hostPort).default([]),
  reconnectMinMs: positiveMs.default(200),
  reconnectMaxMs: positiveMs.default(5000),
  /** How often the registry is read to discover new msg_servers. */
  discoveryMs: positiveMs.default(1000),
  /**
   * Dial the msg_servers over TLS (their `tlsListen`, announced in the registry), verifying them
   * against caFile; certFile/keyFile are presented for mutual TLS (msg_server internalAuth "mtls").
   * With it the cluster secret never crosses the network in clear.
   */
  linkTls: tlsClientSchema.optional(),
};

export { ms, positiveMs };
