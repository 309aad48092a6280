import type { Logger } from "../log/logger.js";
import type { RedisConfig } from "../config/common.js";
import type { Bus } from "./bus.js";
import { ClusterControlBus } from "./cluster-control-bus.js";
import { watchClusterReconnects } from "./cluster-reconnect.js";
import { ClusterSessionDirectory } from "./cluster-session-directory.js";
import { redisKeys } from "./keys.js";
import { createRedisCluster } from "./redis.js";
import type { RedisBusOptions } from "./redis-bus.js";
import { RedisProcessRegistry } from "./redis-process-registry.js";
import { RedisV1Cache } from "./redis-v1-cache.js";
import { RedisRevocations } from "./redis-revocations.js";

/**
 * The Bus on a Redis Cluster (docs/REDIS.md). The registry and v1's cache are the standalone
 * classes: the registry's MULTI and MGET stay in the `{registry}` slot, and every other operation
 * touches one key. The session directory splits its multi-key operations per shard, control
 * messages use sharded pub/sub, and onReconnect follows failovers.
 */
export function openClusterBus(cfg: RedisConfig, log: Logger, o: RedisBusOptions): Bus {
  const keys = redisKeys(cfg.keyPrefix);
  const cluster = createRedisCluster(cfg, log, o.name);
  const control = new ClusterControlBus(cluster, keys, log, { name: `${o.name}:ssub`, password: cfg.password, connectTimeoutMs: cfg.connectTimeoutMs });
  const revocations = new RedisRevocations(cluster, keys, log);
  const listeners: (() => void)[] = [];
  const stopWatching = watchClusterReconnects(cluster, (why) => {
    if (listeners.length === 0) return;
    log.info({ why }, "redis cluster: data may have been lost; re-registering");
    for (const fn of listeners) fn();
  });
  return {
    registry: new RedisProcessRegistry(cluster, keys),
    sessions: new ClusterSessionDirectory(cluster, keys, o.sessionTtlMs ?? 60_000),
    control,
    v1: new RedisV1Cache(cluster),
    revocations,
    onReconnect: (fn) => listeners.push(fn),
    async close() {
      stopWatching();
      await control.close();
      revocations.close();
      cluster.disconnect();
    },
  };
}
