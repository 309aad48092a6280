import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { forwarder, type Host } from "./netns.js";
import { NsProc } from "./netns-proc.js";
import { waitFor } from "./ports.js";

const DATA_PORT = 6379;
const SENTINEL_PORT = 26379;
export const NS_SENTINEL_NAME = "fc-master";
/** As in redis-sentinel.ts: a failover in ~4-6 s, above the pauses a loaded 2-core machine causes. */
const DOWN_AFTER_MS = 2000;

/**
 * Redis on namespace hosts, for netns-cluster.ts: either one redis-server ("standalone", on the
 * first host given) or a Sentinel set: a master and a replica on two hosts of their own and three
 * sentinels (quorum 2) on those two and a third host, so a cut of the master's host leaves two
 * sentinels, a majority, to promote the replica. Every server and sentinel has a fresh password
 * (bound to a non-loopback address without one, Redis' protected mode refuses other hosts).
 * Nothing is persisted: a restarted server comes back empty, and a restarted old master is made a
 * replica by the sentinels.
 */
export interface NetnsRedis {
  mode: "standalone" | "sentinel";
  /** The `redis` section of every service's conf file. */
  conf: Record<string, unknown>;
  /** Data servers; [0] is the first master. */
  servers: NsProc[];
  sentinels: NsProc[];
  /** A connection to one data server (through a forward from its own host, so a partition does not cut it). */
  client(s: NsProc): Promise<Redis>;
  /** The master: the server every live sentinel names (standalone: the server). */
  master(): Promise<NsProc>;
  /** Wait until every live sentinel names a server other than `old` and that server says role:master. */
  waitForFailover(old: NsProc, timeoutMs?: number): Promise<NsProc>;
  /** Wait until `s` is a replica of the current master with its link up (a restarted old master, converted). */
  waitForReplica(s: NsProc, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface NetnsRedisOptions {
  /** Config, logs and (never used: nothing is persisted) data files go here. */
  dir: string;
  mode: "standalone" | "sentinel";
  /** The data servers' hosts (standalone: the first; sentinel: the first two). */
  dataHosts: Host[];
  /** The sentinels' hosts (the first three; none in standalone mode). */
  sentinelHosts: Host[];
}

export async function startNetnsRedis({ dir, mode, dataHosts, sentinelHosts }: NetnsRedisOptions): Promise<NetnsRedis> {
  const password = randomBytes(24).toString("hex");
  const sentinelPassword = randomBytes(24).toString("hex");
  const fwd = forwarder();
  const clients: Redis[] = [];
  const connect = async (h: Host, port: number, pass: string) => {
    const f = await fwd(h, port);
    const c = new Redis({ host: f.host, port: f.port, password: pass, maxRetriesPerRequest: 1, connectTimeout: 1000, commandTimeout: 2000, retryStrategy: () => 200 });
    c.on("error", () => undefined);
    clients.push(c);
    return c;
  };
  // One admin connection per process, made on first use.
  const admins = new Map<NsProc, Promise<Redis>>();
  const admin = (p: NsProc) => {
    let c = admins.get(p);
    if (!c) admins.set(p, (c = connect(p.host, p.name === "sentinel" ? SENTINEL_PORT : DATA_PORT, p.name === "sentinel" ? sentinelPassword : password)));
    return c;
  };
  const answers = async (p: NsProc) => (await (await admin(p)).ping()) === "PONG";

  const hosts = mode === "standalone" ? dataHosts.slice(0, 1) : dataHosts.slice(0, 2);
  const first = hosts[0]!;
  const servers: NsProc[] = hosts.map((h, i) => {
    const args = [
      "--bind", h.addr, "--port", String(DATA_PORT), "--requirepass", password, "--masterauth", password,
      "--save", "", "--appendonly", "no", "--dir", dir, "--dbfilename", `dump-${h.name}.rdb`, "--repl-diskless-sync-delay", "0",
      ...(i > 0 ? ["--replicaof", first.addr, String(DATA_PORT)] : []),
    ];
    return new NsProc("redis", h, "redis-server", args, join(dir, `redis-${h.name}.log`), answers);
  });
  const sentinels: NsProc[] =
    mode === "standalone"
      ? []
      : sentinelHosts.slice(0, 3).map((h) => {
          const conf = join(dir, `sentinel-${h.name}.conf`);
          // Sentinels rewrite their config file (discovered replicas and peers), so each has its own.
          writeFileSync(conf, [
            `bind ${h.addr}`, `port ${SENTINEL_PORT}`, `dir ${dir}`, `requirepass ${sentinelPassword}`, `sentinel sentinel-pass ${sentinelPassword}`,
            `sentinel monitor ${NS_SENTINEL_NAME} ${first.addr} ${DATA_PORT} 2`, `sentinel auth-pass ${NS_SENTINEL_NAME} ${password}`,
            `sentinel down-after-milliseconds ${NS_SENTINEL_NAME} ${DOWN_AFTER_MS}`, `sentinel failover-timeout ${NS_SENTINEL_NAME} 10000`, "",
          ].join("\n"));
          return new NsProc("sentinel", h, "redis-server", [conf, "--sentinel"], join(dir, `sentinel-${h.name}.log`), answers);
        });
  const conf =
    mode === "standalone"
      ? { host: first.addr, port: DATA_PORT, password }
      : { sentinel: { name: NS_SENTINEL_NAME, nodes: sentinels.map((s) => ({ host: s.host.addr, port: SENTINEL_PORT })), password: sentinelPassword }, password };

  const info = async (p: NsProc, field: string) => {
    const text = await (await admin(p)).info("replication");
    return text.split("\r\n").find((l) => l.startsWith(`${field}:`))?.slice(field.length + 1);
  };
  /** The server each live sentinel names as master; a sentinel that does not answer within 500 ms is left out. */
  const named = async (): Promise<NsProc[]> => {
    const out: NsProc[] = [];
    for (const s of sentinels.filter((x) => x.running)) {
      const ask = (await admin(s)).call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", NS_SENTINEL_NAME) as Promise<[string, string] | null>;
      const a = await Promise.race([ask, new Promise<"slow">((r) => setTimeout(() => r("slow"), 500))]);
      if (a === "slow") continue;
      const m = servers.find((x) => x.host.addr === a?.[0]);
      if (!m) throw new Error(`${s.label} names an unknown master ${JSON.stringify(a)}`);
      out.push(m);
    }
    return out;
  };
  const h: NetnsRedis = {
    mode,
    conf,
    servers,
    sentinels,
    client: (s) => connect(s.host, DATA_PORT, password),
    async master() {
      if (mode === "standalone") return servers[0]!;
      const all = new Set(await named());
      if (all.size !== 1) throw new Error(`sentinels disagree on the master: ${[...all].map((s) => s.label).join(", ")}`);
      return [...all][0]!;
    },
    waitForFailover(old, timeoutMs = 30_000) {
      // A sentinel cut off with the old master still names it (the test's view of it is not cut):
      // a majority naming one other server, which says it is master, is the failover.
      return waitFor(`sentinels to promote a server other than ${old.label}`, async () => {
        const names = await named();
        const m = names.find((x) => x !== old);
        if (!m || names.filter((x) => x === m).length < 2) return null;
        return (await info(m, "role")) === "master" ? m : null;
      }, timeoutMs, 100);
    },
    async waitForReplica(s, timeoutMs = 30_000) {
      await waitFor(`${s.label} a replica of the master, link up`, async () => (await info(s, "role")) === "slave" && (await info(s, "master_link_status")) === "up", timeoutMs, 200);
    },
    async close() {
      for (const c of clients) c.disconnect();
      await fwd.closeAll();
    },
  };
  await Promise.all(servers.map((s) => s.start()));
  if (mode === "sentinel") {
    await waitFor("replica in sync", async () => (await info(servers[0]!, "connected_slaves")) === "1" && (await info(servers[1]!, "master_link_status")) === "up", 15_000, 100);
    await Promise.all(sentinels.map((s) => s.start()));
    // Sentinels find the replica through the master's INFO and each other through hello messages
    // on the master (every 2 s); a failover needs both.
    await waitFor("every sentinel knows the replica and the other sentinels", async () => {
      for (const s of sentinels) {
        const c = await admin(s);
        const replicas = (await c.call("SENTINEL", "REPLICAS", NS_SENTINEL_NAME)) as unknown[];
        const peers = (await c.call("SENTINEL", "SENTINELS", NS_SENTINEL_NAME)) as unknown[];
        if (replicas.length !== servers.length - 1 || peers.length !== sentinels.length - 1) return false;
      }
      return true;
    }, 20_000, 200);
  }
  return h;
}
