import calculateSlot from "cluster-key-slot";
import type { Cluster } from "ioredis";

export { calculateSlot };

/** "host:port" of the master serving `slot`, as the client's slot map says now (undefined before the first map). */
export function masterOfSlot(cluster: Cluster, slot: number): string | undefined {
  return cluster.slots[slot]?.[0];
}

/**
 * Split items by the group of nodes serving their key's slot, which is what an ioredis Cluster
 * pipeline requires ("all keys in the pipeline should belong to the same slots allocation
 * group"). Items whose slot has no known owner yet go in one group of their own; their pipeline
 * is redirected (or fails and is retried) like any command.
 */
export function groupBySlotOwner<T>(cluster: Cluster, items: readonly T[], keyOf: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const owners = cluster.slots[calculateSlot(keyOf(item))];
    const id = owners ? owners.join(";") : "?";
    let g = groups.get(id);
    if (!g) groups.set(id, (g = []));
    g.push(item);
  }
  return [...groups.values()];
}

/** "host:port" (IPv6 hosts unbracketed, as ioredis writes node keys) to host and port. */
export function parseNodeKey(key: string): { host: string; port: number } {
  const i = key.lastIndexOf(":");
  return { host: key.slice(0, i), port: Number(key.slice(i + 1)) };
}
