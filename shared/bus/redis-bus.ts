import type { Logger } from "../log/logger.js";
import type { RedisConfig } from "../config/common.js";
import type { Bus } from "./bus.js";
import { openClusterBus } from "./cluster-bus.js";
import { redisKeys } from "./keys.js";
import { createRedis } from "./redis.js";
import { RedisControlBus } from "./redis-control-bus.js";
import { RedisProcessRegistry } from "./redis-process-registry.js";
import { RedisSessionDirectory } from "./redis-session-directory.js";
import { RedisV1Cache } from "./redis-v1-cache.js";
import { RedisRevocations } from "./redis-revocations.js";

export interface RedisBusOptions {
  /** Connection name shown by CLIENT LIST, e.g. "msg_server:127.0.0.1:19000". */
  name: string;
  /** TTL of session directory entries (only the msg_server writes them). */
  sessionTtlMs?: number;
}

/** The Bus on the Redis `cfg` describes: a Redis Cluster when `redis.cluster` lists seeds, else a standalone server. */
export function openRedisBus(cfg: RedisConfig, log: Logger, o: RedisBusOptions): Bus {
  return cfg.cluster ? openClusterBus(cfg, log, o) : openStandaloneBus(cfg, log, o);
}

/** The Bus on a standalone Redis: one connection for commands, one more for control messages once listened to. */
function openStandaloneBus(cfg: RedisConfig, log: Logger, o: RedisBusOptions): Bus {
  const keys = redisKeys(cfg.keyPrefix);
  const redis = createRedis(cfg, log, o.name);
  const control = new RedisControlBus(redis, keys, log);
  const revocations = new RedisRevocations(redis, keys, log);
  let readyOnce = false;
  const listeners: (() => void)[] = [];
  redis.on("ready", () => {
    if (readyOnce) for (const fn of listeners) fn();
    readyOnce = true;
  });
  return {
    registry: new RedisProcessRegistry(redis, keys),
    sessions: new RedisSessionDirectory(redis, keys, o.sessionTtlMs ?? 60_000),
    control,
    v1: new RedisV1Cache(redis),
    revocations,
    onReconnect: (fn) => listeners.push(fn),
    async close() {
      await control.close();
      revocations.close();
      redis.disconnect();
    },
  };
}
