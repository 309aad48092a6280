import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { FishChatClient, requestMsgServer, type ClientOptions } from "../../shared/client/client.js";
import { clientAuthSchema } from "../../shared/auth/config.js";
import { mintToken } from "../../shared/auth/mint.js";
import { parseConfig } from "../../shared/config/load-config.js";
import { Cmd } from "../../shared/protocol/commands.js";
import { SERVICE_NODE_FLAGS } from "../../shared/runtime-flags.js";
import { TEST_CLIENT_AUTH, TEST_LIMITS } from "./cluster.js";
import { createNetwork, forwarder, type Host, type Network } from "./netns.js";
import { NsProc } from "./netns-proc.js";
import { type NetnsRedis, startNetnsRedis } from "./netns-redis.js";
import { waitFor } from "./ports.js";

const DIST = resolve(import.meta.dirname, "../..");
const MS_PORT = 19000;
const ROUTER_PORT = 20000;
const GATEWAY_PORT = 17000;
const MANAGER_PORT = 18000;

/**
 * A FishChat cluster on network-namespace hosts (netns.ts): Redis on "redis" (netns-redis.ts;
 * with `redis: "sentinel"` a master there, a replica on "redis2" and three sentinels), one
 * msg_server on each of "ms1" and "ms2" (sharing one LMDB directory, as on one machine: the
 * filesystem is not cut by a partition, only the network is), the router on "infra". Optional,
 * for the chaos run: a gateway and a manager on "infra", a second router and manager on "infra2".
 * Clients reach a server through a forward from the server's own host, so a partition of that
 * host cuts the server off from Redis, the routers and the other server but not from its
 * clients: the split a real partition makes. For the same reason netem on any host slows only
 * internal links (Redis, router, the other server), never a test client's.
 */
export interface NetnsCluster {
  net: Network;
  ms: Host[];
  infra: Host;
  redis: NetnsRedis;
  msgServers: NsProc[];
  routers: NsProc[];
  managers: NsProc[];
  gateway: NsProc | null;
  /** A client logged in on msg_server i (0 or 1). */
  client(i: number, id: string, setup?: (c: FishChatClient) => void): Promise<FishChatClient>;
  /**
   * A client logged in where the gateway sends it (needs `gateway`), the same call as
   * cluster.ts's Cluster.client: the address the gateway names is reached through its forward.
   */
  viaGateway(id: string, opts?: ClientOptions & { setup?: (c: FishChatClient) => void }): Promise<FishChatClient>;
  stats(host: Host, port: number): Promise<Record<string, number>>;
  /** Wait until every running router has a live link to every running msg_server. */
  routerReady(): Promise<void>;
  stop(): Promise<void>;
}

export interface NetnsClusterOptions {
  msg_server?: Record<string, unknown>;
  redis?: "standalone" | "sentinel";
  gateway?: boolean;
  routers?: 1 | 2;
  managers?: 0 | 1 | 2;
}

export async function startNetnsCluster(o: NetnsClusterOptions = {}): Promise<NetnsCluster> {
  const sentinel = o.redis === "sentinel";
  const nRouters = o.routers ?? 1;
  const nManagers = o.managers ?? 0;
  const second = nRouters > 1 || nManagers > 1;
  // Existing hosts keep their addresses (redis .1, ms1 .2, ms2 .3, infra .4) whatever is added.
  const names = ["redis", "ms1", "ms2", "infra", ...(sentinel ? ["redis2"] : []), ...(second ? ["infra2"] : [])];
  const net = await createNetwork({ hosts: names });
  const dir = mkdtempSync(join(tmpdir(), "fc-nscluster-"));
  const [redisHost, ms1, ms2, infra] = ["redis", "ms1", "ms2", "infra"].map((n) => net.host(n)) as [Host, Host, Host, Host];
  const infra2 = second ? net.host("infra2") : infra;
  // Listeners on a non-loopback address need a cluster secret of 32 bytes or more (a fresh one per run).
  const secret = randomBytes(24).toString("base64");
  const fwd = forwarder();
  const stats = async (host: Host, port: number) => {
    const c = new FishChatClient({ heartbeatMs: 0, requestTimeoutMs: 2000 });
    try {
      await c.connect((await fwd(host, port)).addr);
      if (port === MS_PORT) await c.request({ name: Cmd.AUTH, args: [secret] });
      const r = await c.request({ name: Cmd.STATS, args: [] });
      return (JSON.parse(r.args[1] ?? "{}") as { stats: Record<string, number> }).stats;
    } finally {
      c.close();
    }
  };
  const procs: NsProc[] = [];
  let redis: NetnsRedis | null = null;
  const stop = async () => {
    await Promise.all(procs.map((p) => p.kill("SIGKILL")));
    await redis?.close();
    await net.destroy();
  };
  try {
    const dataHosts = sentinel ? [redisHost, net.host("redis2")] : [redisHost];
    redis = await startNetnsRedis({ dir, mode: sentinel ? "sentinel" : "standalone", dataHosts, sentinelHosts: [...dataHosts, infra] });
    const common = { clusterSecret: secret, redis: redis.conf, heartbeatMs: 250, registryTtlMs: 1500 };
    const seeds = [ms1, ms2].map((h) => `${h.addr}:${MS_PORT}`);
    const links = { msgServerList: seeds, discoveryMs: 250, reconnectMinMs: 100, reconnectMaxMs: 1000 };
    const service = (h: Host, role: string, file: string, port: number, conf: Record<string, unknown>) => {
      const f = join(dir, `${file}.json`);
      writeFileSync(f, JSON.stringify(conf, null, 2));
      const args = [...SERVICE_NODE_FLAGS, join(DIST, "services", role, "main.js"), `-conf_file=${f}`];
      const p = new NsProc(role, h, process.execPath, args, join(dir, `${file}.log`), async () => {
        await stats(h, port);
        return true;
      });
      procs.push(p);
      return p;
    };
    const msgServers = [ms1, ms2].map((h, i) =>
      service(h, "msg_server", `msg_server${i + 1}`, MS_PORT, {
        ...common,
        listen: `${h.addr}:${MS_PORT}`,
        advertiseAddr: `${h.addr}:${MS_PORT}`,
        inboxSweepMs: 500,
        clientAuth: TEST_CLIENT_AUTH,
        limits: TEST_LIMITS,
        store: { dataDir: join(dir, "data") },
        ...o.msg_server,
      }),
    );
    const routers = [infra, infra2].slice(0, nRouters).map((h, i) => service(h, "router", `router${i + 1}`, ROUTER_PORT, { ...common, ...links, listen: `${h.addr}:${ROUTER_PORT}`, id: `router-ns${i + 1}` }));
    const managers = [infra, infra2].slice(0, nManagers).map((h, i) =>
      service(h, "manager", `manager${i + 1}`, MANAGER_PORT, { ...common, ...links, listen: `${h.addr}:${MANAGER_PORT}`, id: `manager-ns${i + 1}`, store: { dataDir: join(dir, "data") } }),
    );
    const gateway = o.gateway
      ? service(infra, "gateway", "gateway", GATEWAY_PORT, { ...common, listen: `${infra.addr}:${GATEWAY_PORT}`, msgServerList: seeds, registryRefreshMs: 200, maxConnectionsPerAddress: 1_000_000 })
      : null;
    // Start-up order does not matter (a requirement); start everything at once.
    await Promise.all(procs.map((p) => p.start()));
    const token = (id: string) => mintToken(parseConfig("test", TEST_CLIENT_AUTH, clientAuthSchema), { sub: id, ttlSec: 3600 });
    const login = async (addr: string, id: string, opts: ClientOptions & { setup?: (c: FishChatClient) => void }) => {
      const c = new FishChatClient({ heartbeatMs: 0, requestTimeoutMs: 5000, ...opts });
      opts.setup?.(c);
      await c.connect(addr);
      await c.login(id, await token(id));
      return c;
    };
    const cluster: NetnsCluster = {
      net,
      ms: [ms1, ms2],
      infra,
      redis,
      msgServers,
      routers,
      managers,
      gateway,
      stats,
      async client(i, id, setup) {
        return login((await fwd([ms1, ms2][i]!, MS_PORT)).addr, id, { setup });
      },
      async viaGateway(id, opts = {}) {
        if (!gateway) throw new Error("this netns cluster has no gateway");
        const named = await requestMsgServer((await fwd(infra, GATEWAY_PORT)).addr);
        const h = [ms1, ms2].find((x) => `${x.addr}:${MS_PORT}` === named);
        if (!h) throw new Error(`the gateway named ${named}, no msg_server of this cluster`);
        return login((await fwd(h, MS_PORT)).addr, id, opts);
      },
      async routerReady() {
        const want = msgServers.filter((m) => m.running).length;
        for (const r of routers.filter((x) => x.running)) {
          await waitFor(`${r.label} links to every msg_server`, async () => (await stats(r.host, ROUTER_PORT)).linksUp === want, 30_000, 250);
        }
      },
      stop,
    };
    await cluster.routerReady();
    return cluster;
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message} (logs in ${dir})`);
  }
}
