/** One line of CLUSTER NODES, as the answering node sees that node. */
export interface NodeView {
  id: string;
  /** "ip:port" (without the @bus-port). */
  addr: string;
  flags: Set<string>;
  /** The master's id for a replica, null for a master. */
  masterId: string | null;
  /** Slot ranges served, [first, last] inclusive (masters only). */
  slots: [number, number][];
  connected: boolean;
}

/**
 * Parse CLUSTER NODES: `<id> <ip:port@cport[,hostname]> <flags> <master> <ping-sent> <pong-recv>
 * <config-epoch> <link-state> <slot> <slot> ...` (https://redis.io/commands/cluster-nodes/).
 * Slot entries in brackets are migrations in progress and are skipped.
 */
export function parseClusterNodes(text: string): NodeView[] {
  const out: NodeView[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(" ");
    if (f.length < 8) continue;
    const slots: [number, number][] = [];
    for (const s of f.slice(8)) {
      if (s.startsWith("[")) continue;
      const [a, b] = s.split("-");
      slots.push([Number(a), Number(b ?? a)]);
    }
    out.push({
      id: f[0]!,
      addr: f[1]!.split("@")[0]!,
      flags: new Set(f[2]!.split(",")),
      masterId: f[3] === "-" ? null : f[3]!,
      slots,
      connected: f[7] === "connected",
    });
  }
  return out;
}

/** Parse the `key:value` lines of CLUSTER INFO or INFO. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

export const isMaster = (v: NodeView) => v.flags.has("master") && !v.flags.has("fail") && !v.flags.has("fail?");
