/**
 * What a run talks to. Either a cluster the tool starts itself from a build directory (ours by
 * default, another with --compare-dist), fresh for every run so peak RSS and the store start
 * clean, or an existing cluster reached through its gateway.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { tmpdir } from "node:os";
import { makeTestPki } from "../../test/support/certs.js";
import { Redis } from "ioredis";
import type * as ClusterModule from "../../test/support/cluster.js";
import { redisKeys } from "../../shared/bus/keys.js";
import { RedisProcessRegistry } from "../../shared/bus/redis-process-registry.js";
import { splitHostPort } from "../../shared/config/common.js";
import type { NamedProc } from "./proc-stats.js";

export interface Target {
  /** "this build", a dist path or a gateway address: how the report names it. */
  label: string;
  /** Where clients start: the gateway's client port (REQ_MSG_SERVER), or with ws its HTTP listener (GET /v1/endpoint). */
  gateway: string;
  /** Every FishChat process plus Redis, when their pids can be known; empty otherwise. */
  procs(): Promise<NamedProc[]>;
  /** A login token for `id` ("" when the target takes none); absent for builds from before client tokens. */
  token?(id: string): Promise<string>;
  /** With --tls: the CA that clients must trust. */
  tlsCa?: Buffer;
  close(): Promise<void>;
}

export type TargetSpec =
  | { kind: "dist"; dist: string; label: string; msgServers: number; conf: ServiceConf; lean: boolean; keep: boolean; ws: boolean; tls: boolean }
  | { kind: "gateway"; gateway: string; label: string; redis: string | null; prefix: string };

export type ServiceConf = Partial<Record<"gateway" | "msg_server" | "router" | "manager" | "monitor", Record<string, unknown>>>;

/** Our own build: dist/ is two levels above dist/scripts/bench. */
export const OWN_DIST = resolve(import.meta.dirname, "../..");

/**
 * Production defaults where the test harness uses fast timers (heartbeats every 250 ms, sweeps
 * every 500 ms): a benchmark must measure the configuration users run. Logs at warn: info lines
 * per event would measure the logger.
 */
const BENCH_CONF: ServiceConf = {
  gateway: { heartbeatMs: 1000, registryTtlMs: 5000, logLevel: "warn", registryRefreshMs: 500 },
  msg_server: { heartbeatMs: 1000, registryTtlMs: 5000, logLevel: "warn", inboxSweepMs: 2000, monitorBeatMs: 1000 },
  router: { heartbeatMs: 1000, registryTtlMs: 5000, logLevel: "warn", discoveryMs: 1000 },
  manager: { heartbeatMs: 1000, registryTtlMs: 5000, logLevel: "warn", discoveryMs: 1000 },
  monitor: { heartbeatMs: 1000, registryTtlMs: 5000, logLevel: "warn", discoveryMs: 1000, sampleMs: 1000 },
};

function mergeConf(extra: ServiceConf): ServiceConf {
  const out: ServiceConf = {};
  for (const k of Object.keys(BENCH_CONF) as (keyof ServiceConf)[]) out[k] = { ...BENCH_CONF[k], ...extra[k] };
  return out;
}

export async function openTarget(spec: TargetSpec): Promise<Target> {
  return spec.kind === "dist" ? startOwnCluster(spec) : attach(spec);
}

/** Start attempts: on a loaded shared machine a service can miss the launcher's readiness deadline. */
const START_ATTEMPTS = 2;

/** Pids of this process's children, from /proc (the launcher does not hand them back when it fails). */
export function childPids(): Set<number> {
  const out = new Set<number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === process.pid) out.add(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

async function launch(spec: Extract<TargetSpec, { kind: "dist" }>): Promise<ClusterModule.Cluster> {
  // The other build's own launcher, so its services start from its own dist/ (its DIST constant).
  const mod = (await import(pathToFileURL(join(resolve(spec.dist), "test/support/cluster.js")).href)) as typeof ClusterModule;
  for (let attempt = 1; ; attempt++) {
    const before = childPids();
    try {
      const tls = spec.tls ? makeTestPki(mkdtempSync(join(tmpdir(), "fc-bench-pki-"))) : undefined;
      return await mod.startCluster(null, { msgServers: spec.msgServers, manager: !spec.lean, monitor: !spec.lean, ws: spec.ws, tls, conf: mergeConf(spec.conf) });
    } catch (err) {
      // startCluster leaves what it started running when it fails: stop exactly those processes.
      for (const pid of childPids()) if (!before.has(pid)) process.kill(pid, "SIGKILL");
      if (attempt >= START_ATTEMPTS) throw err;
      process.stderr.write(`bench: cluster start failed (${(err as Error).message}); retrying\n`);
    }
  }
}

async function startOwnCluster(spec: Extract<TargetSpec, { kind: "dist" }>): Promise<Target> {
  const cl = await launch(spec);
  const redisPid = await redisPidOf(cl.redis.port, "127.0.0.1");
  const procs: NamedProc[] = [];
  const add = (name: string, s: ClusterModule.ServiceProc | null) => {
    if (s?.proc?.pid) procs.push({ name, pid: s.proc.pid, addr: s.addr });
  };
  add("gateway", cl.gateway);
  cl.msgServers.forEach((m, i) => add(`msg_server#${i + 1}`, m));
  add("router", cl.router);
  add("manager", cl.manager);
  add("monitor", cl.monitor);
  if (redisPid) procs.push({ name: "redis", pid: redisPid });
  return {
    label: spec.label,
    // A build whose launcher predates WebSocket support has no HTTP port: then the login fails loudly.
    gateway: spec.ws ? `127.0.0.1:${cl.gatewayHttpPort ?? 0}` : spec.tls ? `127.0.0.1:${cl.gatewayTlsPort}` : cl.gateway!.addr,
    tlsCa: spec.tls ? pkiCa(cl) : undefined,
    procs: async () => procs,
    token: typeof (cl as { token?: unknown }).token === "function" ? (id: string) => cl.token(id) : undefined,
    async close() {
      await cl.stop();
      if (spec.keep) {
        process.stderr.write(`bench: cluster files kept in ${cl.dir}\n`);
        return;
      }
      for (const dir of [cl.dir, cl.redis.dir]) rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function attach(spec: Extract<TargetSpec, { kind: "gateway" }>): Promise<Target> {
  return {
    label: spec.label,
    gateway: spec.gateway,
    async procs() {
      if (!spec.redis) return [];
      const { host, port } = splitHostPort(spec.redis);
      const redis = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 1 });
      redis.on("error", () => undefined);
      try {
        await redis.connect();
        const entries = (await new RedisProcessRegistry(redis, redisKeys(spec.prefix)).list()).filter((e) => e.alive);
        entries.sort((a, b) => (a.info.role + a.info.addr).localeCompare(b.info.role + b.info.addr));
        const seen = new Map<string, number>();
        const procs: NamedProc[] = entries.map((e) => {
          const n = (seen.get(e.info.role) ?? 0) + 1;
          seen.set(e.info.role, n);
          return { name: e.info.role === "msg_server" ? `msg_server#${n}` : e.info.role, pid: e.info.pid, addr: e.info.addr };
        });
        const pid = await redisPidOf(port, host);
        if (pid) procs.push({ name: "redis", pid });
        return procs;
      } finally {
        redis.disconnect();
      }
    },
    async close() {},
  };
}

/** The redis-server's pid from `INFO server`, so its CPU counts too (it is on the hot path). */
async function redisPidOf(port: number, host: string): Promise<number | null> {
  const r = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 1 });
  r.on("error", () => undefined);
  try {
    await r.connect();
    const m = /process_id:(\d+)/.exec(await r.info("server"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  } finally {
    r.disconnect();
  }
}

/** The CA of a cluster started with test certificates (test/support/certs.ts puts it beside the rest). */
function pkiCa(cl: ClusterModule.Cluster): Buffer | undefined {
  const f = (cl as { tlsCaFile?: string }).tlsCaFile;
  return f ? readFileSync(f) : undefined;
}
