import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { sweepStaleState, trackDir, trackProcess, untrackDir } from "./cleanup.js";
import { freePorts, waitFor } from "./ports.js";

/**
 * How long a master may not answer before a sentinel thinks it down. Redis' default is 30 s;
 * 2000 ms gives a failover in ~4-6 s (the timeout, the sentinels agreeing and electing a leader,
 * the promotion) while staying above the pauses a loaded 2-core test machine causes (the same
 * reasoning as cluster-node-timeout in redis-cluster-node.ts).
 */
const DOWN_AFTER_MS = 2000;
export const SENTINEL_MASTER_NAME = "fc-master";

export interface SentinelProc {
  index: number;
  port: number;
  dir: string;
  proc: ChildProcess | null;
  running(): boolean;
}

export interface TestRedisSentinel {
  /** The monitored master's name, for `redis.sentinel.name`. */
  name: string;
  /** Data servers: [0] is the first master, the rest its replicas. */
  servers: SentinelProc[];
  sentinels: SentinelProc[];
  /** host/port of every sentinel (for `redis.sentinel.nodes`). */
  seeds(): { host: string; port: number }[];
  /** The data server every live sentinel names as master. */
  master(): Promise<SentinelProc>;
  /** A plain connection to one data server. */
  serverClient(s: SentinelProc): Redis;
  /** SIGKILL the current master and remember it for waitForFailover(). */
  killMaster(): Promise<SentinelProc>;
  /** Wait until every sentinel names another server as master and that server says role:master. */
  waitForFailover(timeoutMs?: number): Promise<SentinelProc>;
  stop(): Promise<void>;
}

function proc(index: number, port: number, dir: string): SentinelProc {
  mkdirSync(dir);
  const p: SentinelProc = { index, port, dir, proc: null, running: () => p.proc !== null && p.proc.exitCode === null && p.proc.signalCode === null };
  return p;
}

function infoField(info: string, field: string): string | undefined {
  return info.split("\r\n").find((l) => l.startsWith(`${field}:`))?.slice(field.length + 1);
}

/**
 * A master, its replicas and `sentinels` redis-server processes in sentinel mode (quorum: a
 * majority), on free ports with temp dirs, no persistence. Resolves once every sentinel knows
 * every replica and every other sentinel, so a failover can happen.
 */
export async function startRedisSentinel(opts: { replicas?: number; sentinels?: number } = {}): Promise<TestRedisSentinel> {
  const nReplicas = opts.replicas ?? 1;
  const nSentinels = opts.sentinels ?? 3;
  sweepStaleState();
  const base = mkdtempSync(join(tmpdir(), "fc-rsentinel-"));
  trackDir(base);
  const ports = await freePorts(1 + nReplicas + nSentinels);
  const servers = Array.from({ length: 1 + nReplicas }, (_, i) => proc(i, ports[i]!, join(base, `server-${i}`)));
  const sentinels = Array.from({ length: nSentinels }, (_, i) => proc(i, ports[1 + nReplicas + i]!, join(base, `sentinel-${i}`)));
  const admins = new Map<number, Redis>();
  const clients: Redis[] = [];
  let killed: SentinelProc | null = null;

  const admin = (port: number): Redis => {
    let c = admins.get(port);
    if (!c) {
      c = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 1, connectTimeout: 1000, commandTimeout: 2000, retryStrategy: () => 200 });
      c.on("error", () => undefined);
      admins.set(port, c);
    }
    return c;
  };
  const launch = (p: SentinelProc, args: string[]) => {
    p.proc = spawn("redis-server", args, { stdio: "ignore" });
    trackProcess(p.proc);
  };
  const masterPort = servers[0]!.port;
  for (const s of servers) {
    launch(s, [
      "--port", String(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
      "--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0",
      "--logfile", join(s.dir, "redis.log"), "--loglevel", "notice",
      ...(s.index > 0 ? ["--replicaof", "127.0.0.1", String(masterPort)] : []),
    ]);
  }

  const quorum = Math.floor(nSentinels / 2) + 1;
  const liveSentinels = () => sentinels.filter((x) => x.running());
  const masterAddrs = async () =>
    Promise.all(liveSentinels().map(async (x) => (await admin(x.port).call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SENTINEL_MASTER_NAME)) as [string, string] | null));
  const byPort = (port: number) => {
    const s = servers.find((x) => x.port === port);
    if (!s) throw new Error(`sentinels name an unknown master on port ${port}`);
    return s;
  };

  const h: TestRedisSentinel = {
    name: SENTINEL_MASTER_NAME,
    servers,
    sentinels,
    seeds: () => sentinels.map((x) => ({ host: "127.0.0.1", port: x.port })),
    async master() {
      const addrs = await masterAddrs();
      const ports = new Set(addrs.map((a) => Number(a?.[1])));
      if (ports.size !== 1) throw new Error(`sentinels disagree on the master: ${JSON.stringify(addrs)}`);
      return byPort([...ports][0]!);
    },
    serverClient(s) {
      const c = new Redis({ port: s.port, host: "127.0.0.1", maxRetriesPerRequest: 1, commandTimeout: 5000 });
      c.on("error", () => undefined);
      clients.push(c);
      return c;
    },
    async killMaster() {
      const m = await h.master();
      killed = m;
      await new Promise<void>((r) => {
        m.proc!.once("exit", () => r());
        m.proc!.kill("SIGKILL");
      });
      return m;
    },
    async waitForFailover(timeoutMs = 30_000) {
      if (!killed) throw new Error("waitForFailover() without killMaster()");
      const old = killed;
      return waitFor(
        `sentinels to promote a replica of the killed master (port ${old.port})`,
        async () => {
          const addrs = await masterAddrs();
          const ports = new Set(addrs.map((a) => Number(a?.[1])));
          if (ports.size !== 1 || ports.has(old.port)) return null;
          const m = byPort([...ports][0]!);
          return infoField(await admin(m.port).info("replication"), "role") === "master" ? m : null;
        },
        timeoutMs,
        100,
      );
    },
    async stop() {
      for (const c of [...clients, ...admins.values()]) c.disconnect();
      const all = [...servers, ...sentinels].filter((x) => x.running());
      const exits = all.map((x) => new Promise<void>((r) => x.proc!.once("exit", () => r())));
      for (const x of all) x.proc!.kill("SIGTERM");
      const force = setTimeout(() => all.forEach((x) => x.proc?.kill("SIGKILL")), 3000);
      await Promise.all(exits);
      clearTimeout(force);
      rmSync(base, { recursive: true, force: true });
      untrackDir(base);
    },
  };

  try {
    await waitFor("master and replicas in sync", async () => {
      for (const s of servers) if (!s.running()) throw new Error(`redis-server ${s.index} exited: ${tail(join(s.dir, "redis.log"))}`);
      const info = await admin(masterPort).info("replication");
      return Number(infoField(info, "connected_slaves")) === nReplicas && !info.includes("state=wait_bgsave") && info.includes("state=online");
    }, 15_000, 100);
    for (const x of sentinels) {
      const conf = join(x.dir, "sentinel.conf");
      // Sentinels rewrite their config file (discovered replicas and peers), so each has its own.
      writeFileSync(conf, [
        `port ${x.port}`, "bind 127.0.0.1", `dir ${x.dir}`, `logfile ${join(x.dir, "sentinel.log")}`,
        `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${masterPort} ${quorum}`,
        `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} ${DOWN_AFTER_MS}`,
        `sentinel failover-timeout ${SENTINEL_MASTER_NAME} 10000`,
        "",
      ].join("\n"));
      launch(x, [conf, "--sentinel"]);
    }
    // Sentinels find replicas through the master's INFO and each other through hello messages
    // on the master (every 2 s); a failover needs both.
    await waitFor("every sentinel knows every replica and every other sentinel", async () => {
      for (const x of sentinels) {
        if (!x.running()) throw new Error(`sentinel ${x.index} exited: ${tail(join(x.dir, "sentinel.log"))}`);
        const replicas = (await admin(x.port).call("SENTINEL", "REPLICAS", SENTINEL_MASTER_NAME)) as unknown[];
        const peers = (await admin(x.port).call("SENTINEL", "SENTINELS", SENTINEL_MASTER_NAME)) as unknown[];
        if (replicas.length !== nReplicas || peers.length !== nSentinels - 1) return false;
      }
      return true;
    }, 20_000, 200);
  } catch (err) {
    await h.stop();
    throw err;
  }
  return h;
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").slice(-2000);
  } catch {
    return "(no log)";
  }
}
