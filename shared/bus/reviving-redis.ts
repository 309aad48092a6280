import type { Redis } from "ioredis";
import type { Logger } from "../log/logger.js";

const REVIVE_MIN_MS = 100;
const REVIVE_MAX_MS = 2000;

/**
 * Make an ioredis client connect again when it ends without having been closed, and its
 * duplicates (subscriber connections) too. Returns the same client.
 *
 * ioredis gives a client up for good (status "end", every command then fails with "Connection
 * is closed.") when its connector is told to disconnect while it is connecting. In Sentinel mode
 * the failover detector of the previous connection does exactly that when +switch-master
 * arrives while a reconnection is asking a sentinel for the master: after a master died, a
 * process could stay off Redis for good (seen in netns-redis-failover.test.ts, where one
 * msg_server could no longer register a session; also redis/ioredis#1683). Closing is
 * `disconnect()` (our code never sends QUIT), so anything else that ends the client is such a
 * loss, and the client is connected again with a backoff.
 */
export function reviving<R extends Redis>(redis: R, log: Logger): R {
  let closed = false;
  let revivals = 0;
  const disconnect = redis.disconnect.bind(redis);
  redis.disconnect = (reconnect = false) => {
    if (!reconnect) closed = true;
    disconnect(reconnect);
  };
  const duplicate = redis.duplicate.bind(redis);
  redis.duplicate = ((override?: Parameters<R["duplicate"]>[0]) => reviving(duplicate(override), log)) as R["duplicate"];
  redis.on("ready", () => (revivals = 0));
  redis.on("end", () => {
    if (closed) return;
    const delayMs = Math.min(REVIVE_MIN_MS * 2 ** revivals++, REVIVE_MAX_MS);
    log.warn({ redis: redis.options.connectionName, delayMs }, "redis client ended without being closed (ioredis gave up on it): connecting again");
    const timer = setTimeout(() => {
      if (!closed && redis.status === "end") redis.connect().catch(() => undefined);
    }, delayMs);
    timer.unref();
  });
  return redis;
}
