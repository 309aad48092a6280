/**
 * The two clusters `npm run chaos` can run on, behind one shape: real processes on loopback
 * (test/support/cluster.ts) or on network-namespace hosts (test/support/netns-cluster.ts), where
 * links between hosts can also be slowed, made lossy or cut (netem, partition). Same services
 * either way: 2 msg_servers, 2 routers, 2 managers, a gateway and one redis-server.
 */
import type { FishChatClient } from "../../shared/client/client.js";
import { type Cluster, startCluster } from "../../test/support/cluster.js";
import type { Host } from "../../test/support/netns.js";
import { startNetnsCluster } from "../../test/support/netns-cluster.js";
import type { TestRedis } from "../../test/support/redis.js";

/** A process a fault can hit (ServiceProc and NsProc both fit). */
export interface ChaosProc {
  readonly name: string;
  readonly label: string;
  readonly running: boolean;
  start(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  signal(signal: "SIGSTOP" | "SIGCONT"): void;
}

/** A host whose link to the others a fault can shape or cut (netns only). */
export interface ChaosLink {
  readonly label: string;
  netem(spec: string): Promise<void>;
  clearNetem(): Promise<void>;
  partition(): Promise<void>;
  heal(): Promise<void>;
}

export interface ChaosCluster {
  msgServers: ChaosProc[];
  routers: ChaosProc[];
  managers: ChaosProc[];
  gateway: ChaosProc | null;
  redis: ChaosProc;
  /** Every host (netns); empty on loopback, which has no links to shape. */
  links: ChaosLink[];
  /** Redis' host (netns), for a partition of Redis alone; null on loopback. */
  redisLink: ChaosLink | null;
  /** What test/support/reconnecting.ts needs: a client logged in where the gateway sends it. */
  clients: Pick<Cluster, "client">;
  routerReady(): Promise<void>;
  stop(): Promise<void>;
  /** SIGKILL everything at once (an interrupted run). */
  kill(): Promise<void>;
}

const CONF = { msg_server: { inboxSweepMs: 1000 } };

/** The loopback redis-server as a process a fault can kill, restart and freeze. */
function redisProc(r: TestRedis): ChaosProc {
  let up = true;
  return {
    name: "redis",
    label: `redis:${r.port}`,
    get running() {
      return up;
    },
    async start() {
      if (up) return;
      await r.restart();
      up = true;
    },
    async kill() {
      up = false;
      await r.kill();
    },
    signal: (s) => r.signal(s),
  };
}

export async function loopbackChaosCluster(): Promise<ChaosCluster> {
  const cl = await startCluster(null, { msgServers: 2, routers: 2, manager: true, managers: 2, conf: CONF });
  const redis = redisProc(cl.redis);
  const kill = async () => {
    await Promise.all([...cl.msgServers, ...cl.routers, ...cl.managers, ...(cl.gateway ? [cl.gateway] : []), redis].map((p) => p.kill("SIGKILL")));
  };
  return { ...cl, redis, links: [], redisLink: null, clients: cl, kill };
}

function link(net: { netem(h: Host, s: string): Promise<void>; clearNetem(h: Host): Promise<void>; partition(h: Host): Promise<void>; heal(h: Host): Promise<void> }, h: Host): ChaosLink {
  return {
    label: `host ${h.name}`,
    netem: (spec) => net.netem(h, spec),
    clearNetem: () => net.clearNetem(h),
    partition: () => net.partition(h),
    heal: () => net.heal(h),
  };
}

export async function netnsChaosCluster(): Promise<ChaosCluster> {
  const cl = await startNetnsCluster({ gateway: true, routers: 2, managers: 2, msg_server: CONF.msg_server });
  const links = cl.net.hosts.map((h) => link(cl.net, h));
  return {
    msgServers: cl.msgServers,
    routers: cl.routers,
    managers: cl.managers,
    gateway: cl.gateway,
    redis: cl.redis.servers[0]!,
    links,
    redisLink: links.find((l) => l.label === "host redis") ?? null,
    // reconnecting() calls client(id, { heartbeatMs, setup }) only: the gateway's choice, reached through its forward.
    clients: { client: (id: string, opts?: Parameters<Cluster["client"]>[1]): Promise<FishChatClient> => cl.viaGateway(id, opts) },
    routerReady: () => cl.routerReady(),
    stop: () => cl.stop(),
    kill: () => cl.stop(),
  };
}
