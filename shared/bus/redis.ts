import { Cluster, Redis } from "ioredis";
import type { Logger } from "../log/logger.js";
import type { RedisConfig } from "../config/common.js";
import { reviving } from "./reviving-redis.js";

/** What the Bus classes that work on both topologies take: a standalone connection or a Cluster client. */
export type RedisClient = Redis | Cluster;

/** Reconnection delay: capped exponential, retried for ever (services must survive a Redis restart). */
const retryDelay = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000);

/** A hung (not down) Redis must not stall heartbeats, discovery or the monitor for ever. */
const COMMAND_TIMEOUT_MS = 2000;

/**
 * How long a connection we are leaving may take to close before it is destroyed (ioredis waits
 * 2 s by default). A connection to a master whose host was cut off never closes by itself (the
 * FIN is never answered), so after a Sentinel failover the default kept us off the new master
 * for 2 s more (netns-redis-failover.test.ts). A live peer closes in a round trip.
 */
const DISCONNECT_TIMEOUT_MS = 200;

/**
 * A sentinel answers GET-MASTER-ADDR-BY-NAME from memory: one that has not answered in 500 ms
 * is down or cut off (often with the master it watched, on the same host), so the next one is
 * asked. With the 2 s command timeout, a dead sentinel first in the list cost every reconnection
 * 2 s. Too short only means asking the next sentinel, then retrying the round.
 */
const SENTINEL_TIMEOUT_MS = 500;

/**
 * An ioredis client that retries for ever with a capped delay (services must survive a Redis
 * restart), also when ioredis itself gives up (reviving-redis.ts), and fails commands fast while
 * disconnected instead of queueing them without bound.
 */
export function createRedis(cfg: RedisConfig, log: Logger, name: string): Redis {
  const redis = reviving(
    new Redis({
      ...where(cfg),
      db: cfg.db,
      password: cfg.password || undefined,
      connectionName: name,
      connectTimeout: cfg.connectTimeoutMs,
      lazyConnect: false,
      enableOfflineQueue: true,
      // Commands issued while disconnected fail after one retry cycle rather than waiting for ever.
      maxRetriesPerRequest: 1,
      commandTimeout: COMMAND_TIMEOUT_MS,
      disconnectTimeout: DISCONNECT_TIMEOUT_MS,
      retryStrategy: retryDelay,
    }),
    log,
  );
  let wasReady = false;
  redis.on("ready", () => {
    if (wasReady) log.info({ redis: name }, "redis reconnected");
    wasReady = true;
  });
  redis.on("error", (err: Error) => log.debug({ err, redis: name }, "redis error"));
  redis.on("end", () => log.debug({ redis: name }, "redis connection ended"));
  return redis;
}

/**
 * A standalone server, or the master the sentinels name. With Sentinel, ioredis asks a sentinel
 * for the master on every (re)connection, checks the server's role, and (failoverDetector)
 * subscribes to the sentinels' +switch-master so it leaves a demoted master at once rather than
 * when its connection breaks; after a failover it reconnects to the new master and emits
 * "ready", so onReconnect works as after a restart.
 */
function where(cfg: RedisConfig) {
  if (!cfg.sentinel) return { host: cfg.host, port: cfg.port };
  return {
    sentinels: cfg.sentinel.nodes.map((n) => ({ host: n.host, port: n.port })),
    name: cfg.sentinel.name,
    sentinelPassword: cfg.sentinel.password || undefined,
    role: "master" as const,
    failoverDetector: true,
    sentinelRetryStrategy: retryDelay,
    sentinelCommandTimeout: SENTINEL_TIMEOUT_MS,
  };
}

/**
 * An ioredis Cluster client on `cfg.cluster`'s seeds, with the same stance as createRedis: it
 * reconnects for ever, and a command fails within a few seconds rather than queueing without bound.
 *
 * - No offline queue: while no node answers (start-up, a whole-cluster outage) commands fail at
 *   once. One master's failover does not make the client "not ready": its commands get
 *   "connection closed" / CLUSTERDOWN and are retried every 100 ms with a slot-map refresh, up to
 *   16 times (~1.6 s), then fail; callers degrade as they do when a standalone Redis is down.
 * - Reads go to masters: a replica may not have the session a client claimed a moment ago.
 * - The slot map is re-read every 2 s besides on every redirection, so a failover is noticed (and
 *   onReconnect fires) even when no command happened to hit the failed shard.
 */
export function createRedisCluster(cfg: RedisConfig, log: Logger, name: string): Cluster {
  const seeds = (cfg.cluster ?? []).map((s) => ({ host: s.host, port: s.port }));
  const cluster = new Cluster(seeds, {
    enableOfflineQueue: false,
    enableReadyCheck: true,
    scaleReads: "master",
    maxRedirections: 16,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: cfg.connectTimeoutMs,
    slotsRefreshInterval: 2000,
    clusterRetryStrategy: retryDelay,
    redisOptions: {
      password: cfg.password || undefined,
      connectionName: name,
      connectTimeout: cfg.connectTimeoutMs,
      commandTimeout: COMMAND_TIMEOUT_MS,
      maxRetriesPerRequest: 1,
    },
  });
  let wasReady = false;
  cluster.on("ready", () => {
    if (wasReady) log.info({ redis: name }, "redis cluster reconnected");
    wasReady = true;
  });
  cluster.on("error", (err: Error) => log.debug({ err, redis: name }, "redis cluster error"));
  cluster.on("node error", (err: Error, node: string) => log.debug({ err, redis: name, node }, "redis cluster node error"));
  cluster.on("end", () => log.debug({ redis: name }, "redis cluster connection ended"));
  return cluster;
}

