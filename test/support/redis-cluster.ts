import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster, type ClusterOptions, Redis } from "ioredis";
import { trackDir, trackProcess, untrackDir } from "./cleanup.js";
import type { Forward, Host } from "./netns.js";
import { freePorts, waitFor } from "./ports.js";
import { isMaster, type NodeView, parseClusterNodes, parseInfo } from "./redis-cluster-topology.js";

/**
 * cluster-node-timeout: how long a node may be unreachable before the others mark it failed and
 * its replica starts an election. Redis' default is 15 s, which would make a failover test wait
 * ~17 s; 2000 ms gives a failover in ~3-4 s (timeout + the replica's 0.5-1 s election delay +
 * gossip) while staying well above the pauses a loaded 2-core test machine causes, which at 1 s
 * could fail over a healthy master mid-test.
 */
export const DEFAULT_NODE_TIMEOUT_MS = 2000;
/** Client port of the first node on each namespace host (ports inside a namespace cannot clash). */
const NETNS_BASE_PORT = 7000;

export interface RedisClusterOptions {
  masters?: number;
  replicasPerMaster?: number;
  nodeTimeoutMs?: number;
  /**
   * Run node i inside hosts[i % hosts.length] (network namespaces, see netns.ts), bound to that
   * host's address, instead of on 127.0.0.1 in the root namespace.
   */
  hosts?: readonly Host[];
}

export interface RedisClusterNode {
  /** Position in `nodes` (stable; roles change with failovers). */
  index: number;
  /** Address the cluster members know this node by. */
  host: string;
  port: number;
  busPort: number;
  /** Where the test process connects to reach it (a forward in namespace mode). */
  reach: { host: string; port: number };
  dir: string;
  id: string;
  netHost: Host | null;
  proc: ChildProcess | null;
  running(): boolean;
}

export interface TestRedisCluster {
  nodes: RedisClusterNode[];
  nodeTimeoutMs: number;
  /** host/port of every node as cluster members see them (for services' config). */
  seeds(): { host: string; port: number }[];
  /** An ioredis Cluster client for the test process (mapped through forwards in namespace mode). */
  client(opts?: ClusterOptions): Cluster;
  /** A plain connection to one node (admin commands). */
  nodeClient(node: RedisClusterNode): Redis;
  /** The current masters, ordered by the first slot they serve. */
  masters(): Promise<RedisClusterNode[]>;
  masterFor(key: string): Promise<RedisClusterNode>;
  /** `count` distinct keys whose slots `node` serves. */
  keysOn(node: RedisClusterNode, count: number, prefix?: string): Promise<string[]>;
  /** SIGKILL masters()[i] and remember it for waitForFailover(); returns the killed node. */
  killMaster(i: number): Promise<RedisClusterNode>;
  /** Wait until a replica of the last killed master is master and every live node says ok. */
  waitForFailover(timeoutMs?: number): Promise<RedisClusterNode>;
  /** Send a signal to a node's process (SIGKILL, SIGSTOP, SIGCONT, ...). */
  signal(node: RedisClusterNode, sig: NodeJS.Signals): void;
  /** Start a stopped or killed node again (same port, dir and node id). */
  restartNode(node: RedisClusterNode): Promise<void>;
  /** Wait until every live node reports cluster_state:ok and every replica's link is up. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

async function ping(c: Redis): Promise<boolean> {
  return (await c.ping()) === "PONG";
}

export async function startRedisCluster(opts: RedisClusterOptions = {}): Promise<TestRedisCluster> {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicasPerMaster ?? 1;
  const nodeTimeoutMs = opts.nodeTimeoutMs ?? DEFAULT_NODE_TIMEOUT_MS;
  const n = masters * (1 + replicas);
  if (masters < 3) throw new Error("redis-cli --cluster create needs at least 3 masters");
  const base = mkdtempSync(join(tmpdir(), "fc-rcluster-"));
  trackDir(base);
  const hosts = opts.hosts ?? [];
  const local = hosts.length === 0 ? await freePorts(2 * n) : [];
  const forwards: Forward[] = [];
  const admins = new Map<RedisClusterNode, Redis>();
  const clients: (Redis | Cluster)[] = [];
  let lastKilled: { id: string; replicaIds: string[] } | null = null;

  const nodes: RedisClusterNode[] = [];
  for (let i = 0; i < n; i++) {
    const netHost = hosts.length ? hosts[i % hosts.length]! : null;
    const port = netHost ? NETNS_BASE_PORT + Math.floor(i / hosts.length) : local[i]!;
    const busPort = netHost ? port + 10_000 : local[n + i]!;
    const host = netHost ? netHost.addr : "127.0.0.1";
    const dir = join(base, `node-${i}`);
    mkdirSync(dir);
    const node: RedisClusterNode = {
      index: i,
      host,
      port,
      busPort,
      reach: { host, port },
      dir,
      id: "",
      netHost,
      proc: null,
      running: () => node.proc !== null && node.proc.exitCode === null && node.proc.signalCode === null,
    };
    nodes.push(node);
  }

  const launch = (node: RedisClusterNode) => {
    // The bus port is set explicitly (cluster-port, Redis 7+) rather than left as port+10000,
    // which for a client port above 22767 would land in the ephemeral range.
    const args = [
      "--port", String(node.port), "--bind", node.host, "--dir", node.dir,
      "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-port", String(node.busPort),
      "--cluster-node-timeout", String(nodeTimeoutMs),
      // Always let a replica take over, however long since it heard from its master: a test
      // that kills a master must see a failover, not a cluster that stays down.
      "--cluster-replica-validity-factor", "0",
      // A replica's full sync starts at once instead of after the default 5 s wait for more replicas.
      "--repl-diskless-sync-delay", "0",
      "--save", "", "--appendonly", "no", "--logfile", join(node.dir, "redis.log"), "--loglevel", "notice",
      // Inside a namespace the node listens on the host's address, reachable only on the test network.
      ...(node.netHost ? ["--protected-mode", "no"] : []),
    ];
    if (node.netHost) node.proc = node.netHost.spawn("redis-server", args, { stdio: "ignore" });
    else {
      node.proc = spawn("redis-server", args, { stdio: "ignore" });
      trackProcess(node.proc);
    }
  };

  const admin = (node: RedisClusterNode): Redis => {
    let c = admins.get(node);
    if (!c) {
      c = new Redis({ ...node.reach, maxRetriesPerRequest: 1, connectTimeout: 1000, retryStrategy: () => 200 });
      c.on("error", () => undefined);
      admins.set(node, c);
    }
    return c;
  };

  const live = () => nodes.filter((x) => x.running());
  const byAddr = (addr: string) => {
    const node = nodes.find((x) => `${x.host}:${x.port}` === addr);
    if (!node) throw new Error(`unknown cluster member ${addr}`);
    return node;
  };

  /** CLUSTER NODES as seen by the first live node that answers. */
  const view = async (): Promise<NodeView[]> => {
    let last: unknown = new Error("no live node");
    for (const node of live()) {
      try {
        return parseClusterNodes(String(await admin(node).call("CLUSTER", "NODES")));
      } catch (err) {
        last = err;
      }
    }
    throw last;
  };

  const mastersNow = async () =>
    (await view())
      .filter((v) => isMaster(v) && v.slots.length > 0)
      .sort((a, b) => a.slots[0]![0] - b.slots[0]![0])
      .map((v) => byAddr(v.addr));

  const waitHealthy = async (timeoutMs = 30_000) => {
    await waitFor(
      "every live Redis Cluster node to report cluster_state:ok",
      async () => {
        for (const node of live()) {
          const info = parseInfo(String(await admin(node).call("CLUSTER", "INFO")));
          if (info.cluster_state !== "ok" || info.cluster_slots_assigned !== "16384") return false;
          const repl = parseInfo(await admin(node).info("replication"));
          if (repl.role === "slave" && repl.master_link_status !== "up") return false;
        }
        return true;
      },
      timeoutMs,
      100,
    );
  };

  const cluster: TestRedisCluster = {
    nodes,
    nodeTimeoutMs,
    seeds: () => nodes.map((x) => ({ host: x.host, port: x.port })),
    client(o = {}) {
      const natMap = hosts.length ? Object.fromEntries(nodes.map((x) => [`${x.host}:${x.port}`, x.reach])) : undefined;
      const c = new Cluster(
        nodes.map((x) => x.reach),
        { natMap, slotsRefreshTimeout: 2000, ...o, redisOptions: { connectTimeout: 2000, ...o.redisOptions } },
      );
      c.on("error", () => undefined);
      clients.push(c);
      return c;
    },
    nodeClient(node) {
      const c = new Redis({ ...node.reach, maxRetriesPerRequest: 1 });
      c.on("error", () => undefined);
      clients.push(c);
      return c;
    },
    masters: mastersNow,
    async masterFor(key) {
      const slot = Number(await admin(live()[0]!).call("CLUSTER", "KEYSLOT", key));
      const owner = (await view()).find((v) => isMaster(v) && v.slots.some(([a, b]) => slot >= a && slot <= b));
      if (!owner) throw new Error(`no live master serves slot ${slot}`);
      return byAddr(owner.addr);
    },
    async keysOn(node, count, prefix = "k") {
      const me = (await view()).find((v) => v.addr === `${node.host}:${node.port}`);
      if (!me || me.slots.length === 0) throw new Error(`node ${node.index} serves no slots`);
      const a = admin(node);
      const out: string[] = [];
      for (let i = 0; out.length < count; i += 256) {
        const keys = Array.from({ length: 256 }, (_, j) => `${prefix}:${i + j}`);
        const p = a.pipeline();
        for (const k of keys) p.call("CLUSTER", "KEYSLOT", k);
        const slots = ((await p.exec()) ?? []).map(([, s]) => Number(s));
        keys.forEach((k, j) => {
          if (out.length < count && me.slots.some(([lo, hi]) => slots[j]! >= lo && slots[j]! <= hi)) out.push(k);
        });
      }
      return out;
    },
    async killMaster(i) {
      const views = await view();
      const node = (await mastersNow())[i];
      if (!node) throw new Error(`no master #${i}`);
      lastKilled = { id: node.id, replicaIds: views.filter((v) => v.masterId === node.id).map((v) => v.id) };
      cluster.signal(node, "SIGKILL");
      await new Promise<void>((r) => (node.running() ? node.proc!.once("exit", () => r()) : r()));
      return node;
    },
    async waitForFailover(timeoutMs = 20_000) {
      const killed = lastKilled;
      if (!killed) throw new Error("waitForFailover() without killMaster()");
      const promoted = await waitFor(
        `a replica of ${killed.id.slice(0, 8)} to be promoted`,
        async () => {
          for (const node of live()) {
            if (!killed.replicaIds.includes(node.id)) continue;
            const repl = parseInfo(await admin(node).info("replication"));
            if (repl.role === "master") return node;
          }
          return null;
        },
        timeoutMs,
        100,
      );
      await waitHealthy(timeoutMs);
      return promoted;
    },
    signal(node, sig) {
      node.proc?.kill(sig);
    },
    async restartNode(node) {
      if (node.running()) throw new Error(`node ${node.index} is running`);
      launch(node);
      await waitFor(`redis node ${node.index} to answer again`, () => ping(admin(node)), 10_000);
    },
    waitHealthy,
    async stop() {
      for (const c of [...clients, ...admins.values()]) c.disconnect();
      const exits = live().map((x) => new Promise<void>((r) => x.proc!.once("exit", () => r())));
      for (const x of live()) {
        x.proc!.kill("SIGCONT");
        x.proc!.kill("SIGTERM");
      }
      const force = setTimeout(() => nodes.forEach((x) => x.proc?.kill("SIGKILL")), 3000);
      await Promise.all(exits);
      clearTimeout(force);
      await Promise.all(forwards.map((f) => f.close()));
      rmSync(base, { recursive: true, force: true });
      untrackDir(base);
    },
  };

  try {
    for (const node of nodes) {
      if (node.netHost) {
        const f = await node.netHost.forward(node.port);
        forwards.push(f);
        node.reach = { host: f.host, port: f.port };
      }
      launch(node);
    }
    for (const node of nodes) {
      await waitFor(`redis node ${node.index} on ${node.host}:${node.port} (log: ${join(node.dir, "redis.log")})`, () => {
        if (!node.running()) throw new Error(`exited: ${readLog(node)}`);
        return ping(admin(node));
      }, 10_000);
      node.id = String(await admin(node).call("CLUSTER", "MYID"));
    }
    const createArgs = ["--cluster", "create", ...nodes.map((x) => `${x.host}:${x.port}`), "--cluster-replicas", String(replicas), "--cluster-yes"];
    const r = hosts.length ? await hosts[0]!.exec("redis-cli", createArgs, { timeoutMs: 30_000 }) : await execLocal("redis-cli", createArgs);
    if (r.code !== 0) throw new Error(`redis-cli --cluster create failed (${r.code}): ${r.stdout.slice(-2000)}${r.stderr}`);
    await waitHealthy();
    const roles = await view();
    if (roles.filter(isMaster).length !== masters) throw new Error(`expected ${masters} masters: ${JSON.stringify(roles)}`);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

function readLog(node: RedisClusterNode): string {
  try {
    return readFileSync(join(node.dir, "redis.log"), "utf8").slice(-2000);
  } catch {
    return "(no log)";
  }
}

function execLocal(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    execFile(cmd, args, { timeout: 30_000, encoding: "utf8" }, (err, stdout, stderr) => {
      ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
