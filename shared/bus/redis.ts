import { Redis } from "ioredis";
import type { Logger } from "../log/logger.js";
import type { RedisConfig } from "../config/common.js";

/**
 * An ioredis client that retries for ever with a capped delay (services must survive a Redis
 * restart) and fails commands fast while disconnected instead of queueing them without bound.
 */
export function createRedis(cfg: RedisConfig, log: Logger, name: string): Redis {
  const redis = new Redis({
    host: cfg.host,
    port: cfg.port,
    db: cfg.db,
    password: cfg.password || undefined,
    connectionName: name,
    connectTimeout: cfg.connectTimeoutMs,
    lazyConnect: false,
    enableOfflineQueue: true,
    // Commands issued while disconnected fail after one retry cycle rather than waiting for ever.
    maxRetriesPerRequest: 1,
    // A hung (not down) Redis must not stall heartbeats, discovery or the monitor for ever.
    commandTimeout: 2000,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
  });
  let wasReady = false;
  redis.on("ready", () => {
    if (wasReady) log.info({ redis: name }, "redis reconnected");
    wasReady = true;
  });
  redis.on("error", (err: Error) => log.debug({ err, redis: name }, "redis error"));
  redis.on("end", () => log.debug({ redis: name }, "redis connection ended"));
  return redis;
}
