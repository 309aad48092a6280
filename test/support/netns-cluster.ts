import { randomBytes } from "node:crypto";
import { createWriteStream, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { ChildProcess } from "node:child_process";
import { FishChatClient } from "../../shared/client/client.js";
import { clientAuthSchema } from "../../shared/auth/config.js";
import { mintToken } from "../../shared/auth/mint.js";
import { parseConfig } from "../../shared/config/load-config.js";
import { Cmd } from "../../shared/protocol/commands.js";
import { SERVICE_NODE_FLAGS } from "../../shared/runtime-flags.js";
import { TEST_CLIENT_AUTH, TEST_LIMITS } from "./cluster.js";
import { createNetwork, type Host, type Network } from "./netns.js";
import { waitFor } from "./ports.js";

const DIST = resolve(import.meta.dirname, "../..");
const MS_PORT = 19000;
const ROUTER_PORT = 20000;

/**
 * A FishChat cluster on network-namespace hosts (netns.ts): redis-server on "redis", one
 * msg_server on each of "ms1" and "ms2" (sharing one LMDB directory, as on one machine: the
 * filesystem is not cut by a partition, only the network is), the router on "infra". Clients
 * reach a msg_server through a forward from the server's own host, so a partition of that host
 * cuts the server off from Redis, the router and the other server but not from its clients:
 * the split a real partition makes.
 */
export interface NetnsCluster {
  net: Network;
  ms: Host[];
  infra: Host;
  /** A client logged in on msg_server i (0 or 1). */
  client(i: number, id: string, setup?: (c: FishChatClient) => void): Promise<FishChatClient>;
  stats(host: Host, port: number): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

export async function startNetnsCluster(conf: { msg_server?: Record<string, unknown> } = {}): Promise<NetnsCluster> {
  const net = await createNetwork({ hosts: ["redis", "ms1", "ms2", "infra"] });
  const dir = mkdtempSync(join(tmpdir(), "fc-nscluster-"));
  const [redisHost, ms1, ms2, infra] = ["redis", "ms1", "ms2", "infra"].map((n) => net.host(n)) as [Host, Host, Host, Host];
  const procs: ChildProcess[] = [];
  // Listeners on a non-loopback address need a cluster secret of 32 bytes or more (a fresh one per run).
  const secret = randomBytes(24).toString("base64");
  // Redis on a non-loopback address: protected mode refuses it without a password, and it should have one.
  const redisPassword = randomBytes(24).toString("hex");
  const common = { clusterSecret: secret, redis: { host: redisHost.addr, port: 6379, password: redisPassword }, heartbeatMs: 250, registryTtlMs: 1500 };
  const run = (h: Host, name: string, cmd: string, args: string[]) => {
    const log = createWriteStream(join(dir, `${name}.log`));
    const p = h.spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    p.stdout!.pipe(log);
    p.stderr!.pipe(log);
    procs.push(p);
    return p;
  };
  const service = (h: Host, name: string, conf: Record<string, unknown>) => {
    const f = join(dir, `${name}.json`);
    writeFileSync(f, JSON.stringify(conf, null, 2));
    return run(h, name, process.execPath, [...SERVICE_NODE_FLAGS, join(DIST, "services", name.replace(/\d+$/, ""), "main.js"), `-conf_file=${f}`]);
  };
  run(redisHost, "redis", "redis-server", ["--bind", redisHost.addr, "--port", "6379", "--requirepass", redisPassword, "--save", "", "--appendonly", "no", "--dir", dir]);
  const seeds = [ms1, ms2].map((h) => `${h.addr}:${MS_PORT}`);
  for (const [i, h] of [ms1, ms2].entries()) {
    service(h, `msg_server${i + 1}`, {
      ...common,
      listen: `${h.addr}:${MS_PORT}`,
      advertiseAddr: `${h.addr}:${MS_PORT}`,
      inboxSweepMs: 500,
      clientAuth: TEST_CLIENT_AUTH,
      limits: TEST_LIMITS,
      store: { dataDir: join(dir, "data") },
      ...conf.msg_server,
    });
  }
  service(infra, "router", { ...common, listen: `${infra.addr}:${ROUTER_PORT}`, id: "router-ns", msgServerList: seeds, discoveryMs: 250, reconnectMinMs: 100, reconnectMaxMs: 1000 });
  const msForwards = await Promise.all([ms1, ms2].map((h) => h.forward(MS_PORT)));
  const stats = async (host: Host, port: number) => {
    const fwd = await host.forward(port);
    const c = new FishChatClient({ heartbeatMs: 0, requestTimeoutMs: 2000 });
    try {
      await c.connect(fwd.addr);
      if (port === MS_PORT) await c.request({ name: Cmd.AUTH, args: [secret] });
      const r = await c.request({ name: Cmd.STATS, args: [] });
      return (JSON.parse(r.args[1] ?? "{}") as { stats: Record<string, number> }).stats;
    } finally {
      c.close();
      await fwd.close();
    }
  };
  const cluster: NetnsCluster = {
    net,
    ms: [ms1, ms2],
    infra,
    stats,
    async client(i, id, setup) {
      const c = new FishChatClient({ heartbeatMs: 0, requestTimeoutMs: 5000 });
      setup?.(c);
      await c.connect(msForwards[i]!.addr);
      await c.login(id, await mintToken(parseConfig("test", TEST_CLIENT_AUTH, clientAuthSchema), { sub: id, ttlSec: 3600 }));
      return c;
    },
    async stop() {
      for (const p of procs) p.kill("SIGKILL");
      await net.destroy();
    },
  };
  try {
    await waitFor("router linked to both msg_servers", async () => {
      try {
        return (await stats(infra, ROUTER_PORT)).linksUp === 2;
      } catch {
        return false;
      }
    }, 30_000, 250);
  } catch (err) {
    await cluster.stop();
    throw new Error(`${(err as Error).message} (logs in ${dir})`);
  }
  return cluster;
}
