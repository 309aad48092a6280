import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { TestContext } from "node:test";
import { FishChatClient, requestMsgServer, type ClientOptions } from "../../shared/client/client.js";
import { Cmd } from "../../shared/protocol/commands.js";
import { openLmdbStore } from "../../shared/store/lmdb-store.js";
import type { TestPki } from "./certs.js";
import { clientAuthSchema } from "../../shared/auth/config.js";
import { mintToken } from "../../shared/auth/mint.js";
import { parseConfig } from "../../shared/config/load-config.js";
import type { Store } from "../../shared/store/store.js";
import { SERVICE_NODE_FLAGS } from "../../shared/runtime-flags.js";
import { freePorts, portOpen, waitFor } from "./ports.js";
import { startRedis, type TestRedis } from "./redis.js";
import { TEST_ORIGIN } from "./ws-client.js";

export const SECRET = "test-cluster-secret";
/** The test clusters' client token key; `cluster.token(id)` signs with it. */
export const TEST_CLIENT_AUTH = {
  mode: "token" as const,
  keys: [{ kid: "test", alg: "HS256" as const, secret: "test-cluster-token-key-0123456789abcdef" }],
};
/** Every test client comes from 127.0.0.1: per-address limits are raised, except where a test sets its own (netns-cluster.ts too). */
export const TEST_LIMITS = { loginAttemptsPerAddress: 1_000_000, maxConnectionsPerAddress: 1_000_000, failedAuthPerAddress: 1_000_000, sendMessagesPerSec: 1_000_000, sendBurstMessages: 1_000_000, sendBytesPerSec: 1e12, sendBurstBytes: 1e12 };
const DIST = resolve(import.meta.dirname, "../..");

/** A token the test clusters' msg_servers accept (TEST_CLIENT_AUTH), for processes that have no Cluster object. */
export function testToken(id: string, ttlSec = 3600): Promise<string> {
  return mintToken(parseConfig("test", TEST_CLIENT_AUTH, clientAuthSchema), { sub: id, ttlSec });
}

export type ServiceName = "gateway" | "msg_server" | "router" | "manager" | "monitor" | "api";
/** The key the test clusters' server API accepts (`Authorization: Bearer ${TEST_API_KEY}`). */
export const TEST_API_KEY = "test-server-api-key-0123456789abcdef-xyz";
/** A second key, limited to 20 requests per second (rate limit tests). */
export const TEST_SLOW_API_KEY = "test-server-api-slow-key-0123456789abcdef";

/** One service as a real OS process with its own conf file. */
export class ServiceProc {
  proc: ChildProcess | null = null;
  readonly logFile: string;
  /** Further ports (WebSocket, HTTP) start() waits for besides `port`. */
  readonly alsoPorts: number[] = [];

  constructor(
    readonly name: ServiceName,
    readonly confFile: string,
    readonly port: number,
    dir: string,
  ) {
    this.logFile = join(dir, `${name}-${port}.log`);
  }

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** "msg_server:19000": what fault tables print. */
  get label(): string {
    return `${this.name}:${this.port}`;
  }

  get running(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async start(): Promise<void> {
    const log = createWriteStream(this.logFile, { flags: "a" });
    // FISHCHAT_NODE_ARGS passes flags such as --cpu-prof to every service (not allowed in NODE_OPTIONS).
    const nodeArgs = (process.env.FISHCHAT_NODE_ARGS ?? "").split(" ").filter(Boolean);
    const p = spawn(process.execPath, [...SERVICE_NODE_FLAGS, ...nodeArgs, join(DIST, "services", this.name, "main.js"), `-conf_file=${this.confFile}`], {
      stdio: ["ignore", "pipe", "pipe"],
      // FISHCHAT_LOG_LEVEL overrides the conf file's logLevel: set it only when asked, so the bench's "warn" holds.
      env: process.env.FISHCHAT_TEST_LOG_LEVEL ? { ...process.env, FISHCHAT_LOG_LEVEL: process.env.FISHCHAT_TEST_LOG_LEVEL } : process.env,
    });
    p.stdout!.pipe(log);
    p.stderr!.pipe(log);
    this.proc = p;
    await waitFor(`${this.name} on ${this.port} (log: ${this.logFile})`, async () => {
      if (!this.running) throw new Error(`${this.name} exited: ${readFileSync(this.logFile, "utf8").slice(-2000)}`);
      return (await portOpen(this.port)) && (await Promise.all(this.alsoPorts.map(portOpen))).every(Boolean);
    }, 20_000);
  }

  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const p = this.proc;
    if (!p || !this.running) return;
    await new Promise<void>((r) => {
      p.once("exit", () => r());
      p.kill(signal);
      // A process left frozen (SIGSTOP) by a failed test would never act on a SIGTERM.
      if (signal !== "SIGKILL") p.kill("SIGCONT");
    });
  }

  /** SIGSTOP / SIGCONT without waiting for anything. */
  signal(signal: "SIGSTOP" | "SIGCONT"): void {
    if (this.running) this.proc!.kill(signal);
  }

  async stop(): Promise<void> {
    await this.kill("SIGTERM");
  }

  log(): string {
    return readFileSync(this.logFile, "utf8");
  }
}


export interface ClusterOptions {
  msgServers?: number;
  gateway?: boolean;
  router?: boolean;
  /** How many routers (default 1; `router: false` means none). Each gets its own id and port. */
  routers?: number;
  manager?: boolean;
  /** How many managers when `manager` is set (default 1). */
  managers?: number;
  monitor?: boolean;
  /** The server API (services/api), keyed with TEST_API_KEY; its URL is `Cluster.apiUrl`. */
  api?: boolean;
  /** Extra config keys per service. */
  conf?: Partial<Record<ServiceName, Record<string, unknown>>>;
  redis?: TestRedis;
  /**
   * Run on this Redis Cluster (test/support/redis-cluster.ts) instead of a private redis-server:
   * services get `redis.cluster` = its seeds, and `Cluster.redis` is unusable (it throws).
   */
  redisCluster?: { seeds(): { host: string; port: number }[] };
  /** A WebSocket listener on every msg_server (origin TEST_ORIGIN allowed) and the gateway's HTTP endpoint. */
  ws?: boolean;
  /**
   * The chat page (implies `ws`): the gateway's HTTP listener serves it with the development login
   * on (the cluster's token key), and the msg_servers let its origin open WebSockets and files.
   */
  chat?: boolean;
  /**
   * TLS everywhere it exists (test/support/certs.ts testPki): each msg_server and the gateway get a
   * TLS listener beside the plain one, internal links dial it with a client certificate and the
   * msg_servers accept AUTH only from such links (internalAuth "mtls").
   */
  tls?: TestPki;
}

export interface Cluster {
  dir: string;
  redis: TestRedis;
  gateway: ServiceProc | null;
  msgServers: ServiceProc[];
  /** The first router (or null). */
  router: ServiceProc | null;
  routers: ServiceProc[];
  /** The first manager (or null). */
  manager: ServiceProc | null;
  managers: ServiceProc[];
  monitor: ServiceProc | null;
  monitorHttpPort: number;
  api: ServiceProc | null;
  /** With `api`: "http://127.0.0.1:<port>". */
  apiUrl: string;
  /** With `ws`: msg_server i's WebSocket port, and the gateway's HTTP port (GET /v1/endpoint). */
  wsPorts: number[];
  /** TLS listeners (with `tls`): one per msg_server, in order, and the gateway's. */
  tlsPorts: number[];
  gatewayTlsPort: number;
  /** With `tls`: the CA file clients must trust. */
  tlsCaFile?: string;
  gatewayHttpPort: number;
  /**
   * A client logged in through the gateway (line codec unless opts.codec says otherwise).
   * `setup` runs before the login: attach listeners there, since messages waiting for the
   * client may arrive in the same TCP read as the login reply.
   */
  client(id: string, opts?: ClientOptions & { via?: string; setup?: (c: FishChatClient) => void; token?: string | null }): Promise<FishChatClient>;
  /** A token for `id` that the cluster's msg_servers accept ("" when the cluster runs clientAuth mode "none"). */
  token(id: string, ttlSec?: number): Promise<string>;
  /** Wait until every running router has a live link to every running msg_server. */
  routerReady(): Promise<void>;
  /** The cluster's embedded store, opened from this process (LMDB is multi-process), to check what was stored. */
  store(): Promise<Store>;
  stop(): Promise<void>;
}

/**
 * Start a cluster of real processes on free ports with a private redis-server, and register its
 * teardown on the test context.
 */
export async function startCluster(t: TestContext | null, opts: ClusterOptions = {}): Promise<Cluster> {
  const o = opts.chat ? { ...opts, ws: true } : opts;
  const n = o.msgServers ?? 2;
  const dir = mkdtempSync(join(tmpdir(), "fc-cluster-"));
  const redis = o.redisCluster ? noStandaloneRedis() : (o.redis ?? (await startRedis()));
  const nRouters = o.router === false ? 0 : (o.routers ?? 1);
  const nManagers = o.manager ? (o.managers ?? 1) : 0;
  const extraBase = n + 5 + (o.ws ? n + 1 : 0) + (o.tls ? n + 1 : 0);
  const nExtra = Math.max(0, nRouters - 1) + Math.max(0, nManagers - 1);
  const ports = await freePorts(extraBase + nExtra + (o.api ? 1 : 0));
  const extraPorts = ports.slice(extraBase, extraBase + nExtra);
  const apiPort = o.api ? ports[extraBase + nExtra]! : 0;
  const msPorts = ports.slice(0, n);
  const [gwPort, routerPort, managerPort, monitorPort, httpPort] = ports.slice(n) as [number, number, number, number, number];
  const seeds = msPorts.map((p) => `127.0.0.1:${p}`);
  const wsPorts = o.ws ? ports.slice(n + 5, n + 5 + n) : [];
  const gatewayHttpPort = o.ws ? ports[2 * n + 5]! : 0;
  const tlsBase = n + 5 + (o.ws ? n + 1 : 0);
  const tlsPorts = o.tls ? ports.slice(tlsBase, tlsBase + n) : [];
  const gatewayTlsPort = o.tls ? ports[tlsBase + n]! : 0;
  const pki = o.tls;
  const serverTls = pki ? { certFile: pki.server.cert, keyFile: pki.server.key, caFile: pki.ca.cert } : null;
  const linkTls = pki ? { linkTls: { caFile: pki.ca.cert, certFile: pki.client.cert, keyFile: pki.client.key } } : {};
  const common = { clusterSecret: SECRET, redis: o.redisCluster ? { cluster: o.redisCluster.seeds() } : { host: "127.0.0.1", port: redis.port }, heartbeatMs: 250, registryTtlMs: 1500 };
  const store = { dataDir: join(dir, "data") };
  const writeConf = (name: string, conf: Record<string, unknown>) => {
    const f = join(dir, `${name}.json`);
    writeFileSync(f, JSON.stringify(conf, null, 2));
    return f;
  };
  const links = { msgServerList: seeds, discoveryMs: 250, reconnectMinMs: 100, reconnectMaxMs: 1000, ...linkTls };

  const msgServers = msPorts.map(
    (p, i) =>
      new ServiceProc(
        "msg_server",
        writeConf(`msg_server.${p}`, {
          ...common,
          listen: `127.0.0.1:${p}`,
          advertiseAddr: `127.0.0.1:${p}`,
          inboxSweepMs: 500,
          monitorBeatMs: 500,
          clientAuth: TEST_CLIENT_AUTH,
          ...(o.ws ? { ws: { listen: `127.0.0.1:${wsPorts[i]}`, allowedOrigins: o.chat ? [TEST_ORIGIN, `http://127.0.0.1:${gatewayHttpPort}`] : [TEST_ORIGIN] } } : {}),
          ...(serverTls ? { tlsListen: `127.0.0.1:${tlsPorts[i]}`, tls: { ...serverTls, clientCert: "optional" }, internalAuth: "mtls" } : {}),
          ...o.conf?.msg_server,
          limits: { ...TEST_LIMITS, ...(o.conf?.msg_server?.limits as object | undefined) },
          store: { ...store, ...(o.conf?.msg_server?.store as object | undefined) },
        }),
        p,
        dir,
      ),
  );
  const gateway =
    o.gateway === false
      ? null
      : new ServiceProc(
          "gateway",
          writeConf("gateway", {
            ...common,
            listen: `127.0.0.1:${gwPort}`,
            msgServerList: seeds,
            registryRefreshMs: 200,
            maxConnectionsPerAddress: 1_000_000,
            ...(serverTls ? { tlsListen: `127.0.0.1:${gatewayTlsPort}`, tls: serverTls } : {}),
            ...(o.ws ? { http: { listen: `127.0.0.1:${gatewayHttpPort}`, allowedOrigins: [TEST_ORIGIN], ...(o.chat ? { devLogin: { key: TEST_CLIENT_AUTH.keys[0] } } : {}) } } : {}),
            ...o.conf?.gateway,
          }),
          gwPort,
          dir,
        );
  const routerPorts = [routerPort, ...extraPorts.slice(0, nRouters - 1)].slice(0, nRouters);
  const managerPorts = [managerPort, ...extraPorts.slice(Math.max(0, nRouters - 1))].slice(0, nManagers);
  // The first keeps the plain name ("router.json", "manager.json") that tests read.
  const suffix = (i: number, p: number) => (i === 0 ? "" : `.${p}`);
  const routers = routerPorts.map(
    (p, i) => new ServiceProc("router", writeConf(`router${suffix(i, p)}`, { ...common, ...links, listen: `127.0.0.1:${p}`, id: `router-${p}`, ...o.conf?.router }), p, dir),
  );
  const managers = managerPorts.map(
    (p, i) =>
      new ServiceProc(
        "manager",
        writeConf(`manager${suffix(i, p)}`, { ...common, ...links, listen: `127.0.0.1:${p}`, id: `manager-${p}`, ...o.conf?.manager, store: { ...store, ...(o.conf?.manager?.store as object | undefined) } }),
        p,
        dir,
      ),
  );
  const router = routers[0] ?? null;
  const manager = managers[0] ?? null;
  const monitor = o.monitor
    ? new ServiceProc(
        "monitor",
        writeConf("monitor", {
          ...common,
          ...links,
          listen: `127.0.0.1:${monitorPort}`,
          sampleMs: 500,
          ...o.conf?.monitor,
          http: { host: "127.0.0.1", port: httpPort, ...(o.conf?.monitor?.http as object | undefined) },
        }),
        monitorPort,
        dir,
      )
    : null;

  const api = o.api
    ? new ServiceProc(
        "api",
        writeConf("api", { ...common, ...links, listen: `127.0.0.1:${apiPort}`, id: `api-${apiPort}`, keys: [{ name: "test", value: TEST_API_KEY }, { name: "slow", value: TEST_SLOW_API_KEY, requestsPerSec: 20 }], ...o.conf?.api }),
        apiPort,
        dir,
      )
    : null;
  for (const [i, p] of wsPorts.entries()) msgServers[i]!.alsoPorts.push(p);
  for (const [i, p] of tlsPorts.entries()) msgServers[i]!.alsoPorts.push(p);
  if (gateway && gatewayTlsPort) gateway.alsoPorts.push(gatewayTlsPort);
  if (gateway && gatewayHttpPort) gateway.alsoPorts.push(gatewayHttpPort);
  const all = [...msgServers, gateway, ...routers, ...managers, monitor, api].filter((s): s is ServiceProc => s !== null);
  let opened: Promise<Store> | null = null;
  const cluster: Cluster = {
    dir,
    redis,
    gateway,
    msgServers,
    router,
    routers,
    manager,
    managers,
    monitor,
    monitorHttpPort: httpPort,
    api,
    apiUrl: api ? `http://127.0.0.1:${apiPort}` : "",
    token(id, ttlSec = 3600) {
      const auth = (o.conf?.msg_server?.clientAuth as { mode?: string } | undefined) ?? TEST_CLIENT_AUTH;
      if (auth.mode === "none") return Promise.resolve("");
      return testToken(id, ttlSec);
    },
    wsPorts,
    gatewayHttpPort,
    tlsPorts,
    gatewayTlsPort,
    tlsCaFile: pki?.ca.cert,
    async client(id, opts = {}) {
      const addr = opts.via ?? (await requestMsgServer(gateway!.addr));
      const c = new FishChatClient({ heartbeatMs: 0, ...opts });
      opts.setup?.(c);
      await c.connect(addr);
      await c.login(id, opts.token === null ? undefined : (opts.token ?? (await cluster.token(id))));
      t?.after(() => c.close());
      return c;
    },
    async routerReady() {
      const want = msgServers.filter((m) => m.running).length;
      for (const r of routers.filter((x) => x.running)) {
        await waitFor(`router ${r.port} links to every msg_server`, async () => (await statsOf(r)).linksUp === want, 15_000);
      }
    },
    store() {
      opened ??= openLmdbStore({ path: join(store.dataDir, "store"), limits: { inboxMaxPending: 10_000 } });
      return opened;
    },
    async stop() {
      if (opened) await (await opened).close();
      await Promise.all(all.map((s) => s.stop()));
      if (!o.redis) await redis.stop();
    },
  };
  t?.after(() => cluster.stop());
  try {
    // Start-up order does not matter (a requirement); start everything at once.
    await Promise.all(all.map((s) => s.start()));
    if (gateway) {
      await waitFor("gateway sees every msg_server", async () => (await statsOf(gateway)).liveMsgServers === n, 15_000);
    }
    await cluster.routerReady();
    if (api) {
      // Up once it has a link to every msg_server (its /healthz counts them).
      await waitFor("api links to every msg_server", async () => {
        const r = await fetch(`${cluster.apiUrl}/healthz`).catch(() => null);
        return r !== null && ((await r.json()) as { msgServers: number }).msgServers === n;
      }, 15_000);
    }
  } catch (err) {
    // Without a test context nobody else would stop what already started.
    if (!t) await cluster.stop();
    throw err;
  }
  return cluster;
}

/** Stands in for the private redis-server of a cluster that runs on a Redis Cluster. */
function noStandaloneRedis(): TestRedis {
  const fail = (): never => {
    throw new Error("this FishChat cluster runs on a Redis Cluster: use the TestRedisCluster");
  };
  return { port: 0, dir: "", client: fail, kill: fail, restart: fail, signal: fail, stop: async () => undefined };
}

/** STATS of any FishChat port (line mode). */
export async function statsOf(svc: ServiceProc): Promise<Record<string, number>> {
  const c = new FishChatClient({ heartbeatMs: 0, requestTimeoutMs: 3000 });
  await c.connect(svc.addr);
  try {
    if (svc.name === "msg_server") await c.request({ name: Cmd.AUTH, args: [SECRET] });
    const r = await c.request({ name: Cmd.STATS, args: [] });
    return (JSON.parse(r.args[1] ?? "{}") as { stats: Record<string, number> }).stats;
  } finally {
    c.close();
  }
}
