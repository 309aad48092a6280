import { z } from "zod";

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

export const redisSchema = z
  .strictObject({
    host: z.string().min(1).default("127.0.0.1"),
    port: z.number().int().min(1).max(65535).default(6379),
    db: z.number().int().min(0).max(15).default(0),
    password: z.string().default(""),
    /** Prefix of every key and pub/sub channel FishChat writes, so several clusters can share one Redis. */
    keyPrefix: z.string().default("fc:"),
    connectTimeoutMs: positiveMs.default(2000),
  })
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
     * LMDB: when an acknowledged message counts as safe. "commit" (default): survives any process
     * crash, flushed to disk right after. "flush": waits for the fsync, survives power loss. "os":
     * no fsync, lowest latency, a power loss can lose or corrupt recent data. See docs/STORE.md.
     */
    durability: z.enum(["commit", "flush", "os"]).default("commit"),
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
};

export { ms, positiveMs };
