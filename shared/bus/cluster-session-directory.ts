import type { Cluster } from "ioredis";
import { groupBySlotOwner } from "./cluster-slots.js";
import type { RedisKeys } from "./keys.js";
import { REFRESH_BATCH, RedisSessionDirectory, type RefreshEntry } from "./redis-session-directory.js";

/**
 * The session directory on Redis Cluster. Session keys have no hash tag, so they spread over
 * every shard; claim, release and lookup touch one key each and are the standalone code. The two
 * multi-key operations are split by shard:
 *
 * - refreshAll sends one pipeline per group of nodes serving the keys (what an ioredis Cluster
 *   pipeline allows), all groups at once. A group whose pipeline cannot be sent (the slot map
 *   changed under it during a failover) falls back to one script call per key, which ioredis
 *   redirects and retries on its own.
 * - online scans every master and merges.
 */
export class ClusterSessionDirectory extends RedisSessionDirectory {
  constructor(
    private readonly cluster: Cluster,
    keys: RedisKeys,
    ttlMs: number,
  ) {
    super(cluster, keys, ttlMs);
  }

  override async refreshAll(entries: readonly RefreshEntry[]): Promise<string[]> {
    const batches: RefreshEntry[][] = [];
    for (const g of groupBySlotOwner(this.cluster, entries, (e) => this.keys.session(e.clientId))) {
      for (let i = 0; i < g.length; i += REFRESH_BATCH) batches.push(g.slice(i, i + REFRESH_BATCH));
    }
    const lost = await Promise.all(batches.map((b) => this.refreshPipelined(b).catch(() => this.refreshEach(b))));
    return lost.flat();
  }

  private async refreshEach(batch: readonly RefreshEntry[]): Promise<string[]> {
    const results = await Promise.allSettled(batch.map((e) => this.refreshOne(e)));
    return batch.filter((_, i) => {
      const r = results[i]!;
      return r.status === "fulfilled" && r.value === 0;
    }).map((e) => e.clientId);
  }

  /**
   * Every master's session keys, merged. Each master is scanned for at most `limit` ids; of
   * their union the first `limit` in order are returned. A master that cannot be scanned (its
   * shard is failing over) fails the call rather than silently returning part of the cluster.
   */
  override async online(limit: number): Promise<string[]> {
    const masters = this.cluster.nodes("master");
    if (masters.length === 0) throw new Error("no Redis Cluster master known (cluster not connected)");
    const perNode = await Promise.all(masters.map((m) => this.scanSessions(m, limit)));
    return [...new Set(perNode.flat())].sort().slice(0, limit);
  }
}
