import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster, type ClusterOptions, Redis } from "ioredis";
import { sweepStaleState, trackDir, untrackDir } from "./cleanup.js";
import type { Forward, Host } from "./netns.js";
import { freePorts, waitFor } from "./ports.js";
import { DEFAULT_NODE_TIMEOUT_MS, execLocal, launchNode, planNodes, type RedisClusterNode, readLog } from "./redis-cluster-node.js";
import { isMaster, type NodeView, parseClusterNodes, parseInfo } from "./redis-cluster-topology.js";

export { DEFAULT_NODE_TIMEOUT_MS, type RedisClusterNode } from "./redis-cluster-node.js";

export interface RedisClusterOptions {
  masters?: number;
  replicasPerMaster?: number;
  nodeTimeoutMs?: number;
  /**
   * Run node i inside hosts[i % hosts.length] (network namespaces, see netns.ts), bound to that
   * host's address, instead of on 127.0.0.1 in the root namespace.
   */
  hosts?: readonly Host[];
  /**
   * Namespace mode: where client() connections start from (a forward per node from this host),
   * so the test's client sees partitions as an application host would. Default: each node's own
   * host, which faults on the test network do not cut.
   */
  clientHost?: Host;
}

export interface ExpectedFailover {
  /** Wait until one of the master's replicas is master and every other live node says ok. */
  wait(timeoutMs?: number): Promise<RedisClusterNode>;
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
  /**
   * Note a master's replicas before a fault (a partition, SIGSTOP, ...) so wait() can tell when
   * one of them took over. The master itself is left out of the health check.
   */
  expectFailover(master: RedisClusterNode): Promise<ExpectedFailover>;
  /** Send a signal to a node's process (SIGKILL, SIGSTOP, SIGCONT, ...). */
  signal(node: RedisClusterNode, sig: NodeJS.Signals): void;
  /** Start a stopped or killed node again (same port, dir and node id). */
  restartNode(node: RedisClusterNode): Promise<void>;
  /** Wait until every live node (but `except`) reports cluster_state:ok and every replica's link is up. */
  waitHealthy(timeoutMs?: number, except?: readonly RedisClusterNode[]): Promise<void>;
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
  sweepStaleState();
  const base = mkdtempSync(join(tmpdir(), "fc-rcluster-"));
  trackDir(base);
  const hosts = opts.hosts ?? [];
  const local = hosts.length === 0 ? await freePorts(2 * n) : [];
  const forwards: Forward[] = [];
  const admins = new Map<RedisClusterNode, Redis>();
  const clients: (Redis | Cluster)[] = [];
  let lastKilled: ExpectedFailover | null = null;

  const nodes = planNodes(base, n, hosts, local);
  const launch = (node: RedisClusterNode) => launchNode(node, nodeTimeoutMs);

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

  const waitHealthy = async (timeoutMs = 30_000, except: readonly RedisClusterNode[] = []) => {
    await waitFor(
      "every live Redis Cluster node to report cluster_state:ok",
      async () => {
        for (const node of live().filter((x) => !except.includes(x))) {
          const info = parseInfo(String(await admin(node).call("CLUSTER", "INFO")));
          if (info.cluster_state !== "ok" || info.cluster_slots_assigned !== "16384") return false;
          const repl = parseInfo(await admin(node).info("replication"));
          if (repl.role === "slave" && repl.master_link_status !== "up") return false;
          // Gossip settled: this node knows every healthy member's role (no slot-less "master"
          // that is really a replica it has not heard about yet).
          const seen = parseClusterNodes(String(await admin(node).call("CLUSTER", "NODES")));
          if (seen.length !== n || seen.some((v) => isMaster(v) && v.slots.length === 0)) return false;
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
      const natMap = hosts.length ? Object.fromEntries(nodes.map((x) => [`${x.host}:${x.port}`, x.clientReach])) : undefined;
      const c = new Cluster(
        nodes.map((x) => x.clientReach),
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
    async expectFailover(master) {
      const replicaIds = (await view()).filter((v) => v.masterId === master.id).map((v) => v.id);
      if (replicaIds.length === 0) throw new Error(`node ${master.index} has no replica to take over`);
      return {
        async wait(timeoutMs = 20_000) {
          const promoted = await waitFor(
            `a replica of node ${master.index} to be promoted`,
            async () => {
              for (const node of live()) {
                if (!replicaIds.includes(node.id)) continue;
                const repl = parseInfo(await admin(node).info("replication"));
                if (repl.role === "master") return node;
              }
              return null;
            },
            timeoutMs,
            100,
          );
          await waitHealthy(timeoutMs, [master]);
          return promoted;
        },
      };
    },
    async killMaster(i) {
      const node = (await mastersNow())[i];
      if (!node) throw new Error(`no master #${i}`);
      lastKilled = await cluster.expectFailover(node);
      cluster.signal(node, "SIGKILL");
      await new Promise<void>((r) => (node.running() ? node.proc!.once("exit", () => r()) : r()));
      return node;
    },
    async waitForFailover(timeoutMs = 20_000) {
      if (!lastKilled) throw new Error("waitForFailover() without killMaster()");
      return lastKilled.wait(timeoutMs);
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
        node.reach = node.clientReach = { host: f.host, port: f.port };
        if (opts.clientHost && opts.clientHost !== node.netHost) {
          const c = await opts.clientHost.forward(node.port, node.host);
          forwards.push(c);
          node.clientReach = { host: c.host, port: c.port };
        }
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
    if (roles.filter((v) => isMaster(v) && v.slots.length > 0).length !== masters) throw new Error(`expected ${masters} masters: ${JSON.stringify(roles)}`);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

