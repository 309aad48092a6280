import type { Cluster, Redis } from "ioredis";

/** Events within this window make one onReconnect call (a failover moves many slots at once). */
const COALESCE_MS = 100;
const SLOTS = 16384;

/**
 * Bus.onReconnect on a Redis Cluster: "Redis may have lost what you wrote, write it again". A
 * Cluster client stays ready while one shard fails over, so unlike standalone there is no
 * "ready again" to wait for; these are the moments data may have gone:
 *
 * - the master of some slot changed (a replica was promoted; replication is asynchronous, so the
 *   last writes to the old master may be missing). Seen by comparing the slot map on every refresh;
 * - a connection to a master was lost and then made again (a master restarted in place without
 *   persistence comes back empty, and its replica re-syncs from it);
 * - the whole client was disconnected and is ready again.
 *
 * A resharding also changes slot masters without losing anything; the extra call is harmless, as
 * every onReconnect handler re-writes idempotently. Returns a function that stops watching.
 */
export function watchClusterReconnects(cluster: Cluster, fire: (why: string) => void): () => void {
  let masters: (string | undefined)[] | null = null;
  const everReady = new Set<string>();
  let readyOnce = false;
  let timer: NodeJS.Timeout | null = null;
  let why = "";

  const schedule = (reason: string) => {
    why ||= reason;
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      const reason = why;
      why = "";
      fire(reason);
    }, COALESCE_MS);
    timer.unref();
  };

  const onRefresh = () => {
    const now = Array.from({ length: SLOTS }, (_, i) => cluster.slots[i]?.[0]);
    if (masters && now.some((m, i) => m !== undefined && m !== masters![i])) schedule("slot master changed");
    masters = now;
  };
  const onNode = (redis: Redis) => {
    const key = `${redis.options.host}:${redis.options.port}`;
    redis.on("ready", () => {
      if (everReady.has(key) && !redis.options.readOnly) schedule(`reconnected to master ${key}`);
      everReady.add(key);
    });
  };
  const onReady = () => {
    if (readyOnce) schedule("cluster client reconnected");
    readyOnce = true;
  };
  cluster.on("refresh", onRefresh);
  cluster.on("+node", onNode);
  cluster.on("ready", onReady);
  return () => {
    if (timer) clearTimeout(timer);
    cluster.off("refresh", onRefresh);
    cluster.off("+node", onNode);
    cluster.off("ready", onReady);
  };
}
