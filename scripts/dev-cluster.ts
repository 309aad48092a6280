/**
 * `npm start`: the whole FishChat cluster on one machine. Every service runs as its own OS process
 * with its conf file; a private redis-server (data under ./data/redis, AOF on) is started when
 * nothing answers at the configured Redis address. Ctrl-C or SIGTERM stops everything.
 *
 *   node dist/scripts/dev-cluster.js [--conf-dir conf] [--data-dir data] [--logs]
 *
 * Services log JSON to data/logs/<service>.log (or to this terminal with --logs). A service that
 * exits unexpectedly is restarted after a second, as a process supervisor would.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { SERVICE_NODE_FLAGS } from "../shared/runtime-flags.js";

const ROOT = resolve(import.meta.dirname, "../..");

interface Service {
  name: string;
  conf: string;
  /** Ports that must accept connections before the service counts as up. */
  listen: string;
  note: string;
  proc: ChildProcess | null;
  stopping: boolean;
}

const out = (s: string) => process.stdout.write(`${s}\n`);

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
}

function portOpen(host: string, port: number, timeoutMs = 300): Promise<boolean> {
  return new Promise((r) => {
    const s = connect({ host, port });
    s.setTimeout(timeoutMs, () => {
      s.destroy();
      r(false);
    });
    s.once("connect", () => {
      s.destroy();
      r(true);
    });
    s.once("error", () => r(false));
  });
}

async function waitPort(host: string, port: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await portOpen(host, port)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

function hostPort(addr: string): [string, number] {
  const i = addr.lastIndexOf(":");
  const host = addr.slice(0, i);
  return [host === "0.0.0.0" ? "127.0.0.1" : host, Number(addr.slice(i + 1))];
}

async function main(): Promise<void> {
  const program = new Command("dev-cluster")
    .option("--conf-dir <dir>", "directory with gateway.json, msg_server.*.json, router.json, manager.json, monitor.json", "conf")
    .option("--data-dir <dir>", "where the private Redis and the logs live", "data")
    .option("--logs", "stream every service's log to this terminal", false)
    .parse(process.argv);
  const o = program.opts<{ confDir: string; dataDir: string; logs: boolean }>();
  const confDir = resolve(o.confDir);
  const dataDir = resolve(o.dataDir);
  mkdirSync(join(dataDir, "logs"), { recursive: true });

  const msConfs = readdirSync(confDir).filter((f) => /^msg_server\..+\.json$/.test(f)).sort();
  const services: Service[] = [];
  const add = (name: string, file: string, note: (c: Record<string, unknown>) => string) => {
    const conf = join(confDir, file);
    const c = readJson(conf);
    services.push({ name, conf, listen: String(c.listen), note: note(c), proc: null, stopping: false });
  };
  for (const f of msConfs) add("msg_server", f, (c) => `clients connect here; advertised as ${String(c.advertiseAddr ?? c.listen)}`);
  add("gateway", "gateway.json", () => "clients start here (REQ_MSG_SERVER)");
  add("router", "router.json", () => "STATS/PING only");
  add("manager", "manager.json", () => "STATS/PING only");
  add("monitor", "monitor.json", (c) => {
    const http = (c.http ?? {}) as { host?: string; port?: number };
    return `dashboard http://${http.host ?? "127.0.0.1"}:${http.port ?? 30000}/`;
  });

  // Redis: use the configured one if it answers, else start our own with AOF.
  const redisCfg = (readJson(join(confDir, msConfs[0] ?? "gateway.json")).redis ?? {}) as { host?: string; port?: number };
  const redisHost = redisCfg.host ?? "127.0.0.1";
  const redisPort = redisCfg.port ?? 6379;
  let redis: ChildProcess | null = null;
  if (await portOpen(redisHost, redisPort)) {
    out(`redis       ${redisHost}:${redisPort}  (already running; using it)`);
  } else {
    const rdir = join(dataDir, "redis");
    mkdirSync(rdir, { recursive: true });
    redis = spawn("redis-server", ["--port", String(redisPort), "--bind", redisHost, "--dir", rdir, "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    redis.on("error", (err) => {
      out(`cannot start redis-server: ${err.message} (install it: apt-get install redis-server)`);
      process.exit(1);
    });
    if (!(await waitPort(redisHost, redisPort, 10_000))) {
      out("redis-server did not start");
      process.exit(1);
    }
    out(`redis       ${redisHost}:${redisPort}  (started; data in ${rdir}, AOF on)`);
  }

  let shuttingDown = false;
  const launch = (s: Service) => {
    const args = [...SERVICE_NODE_FLAGS, join(ROOT, "dist/services", s.name, "main.js"), `-conf_file=${s.conf}`];
    const p = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    if (o.logs) {
      p.stdout!.pipe(process.stdout, { end: false });
      p.stderr!.pipe(process.stderr, { end: false });
    } else {
      const log = createWriteStream(join(dataDir, "logs", `${s.name}-${s.listen.split(":").pop()}.log`), { flags: "a" });
      p.stdout!.pipe(log);
      p.stderr!.pipe(log);
    }
    p.on("exit", (code, signal) => {
      if (shuttingDown || s.stopping) return;
      out(`${s.name} ${s.listen} exited (${signal ?? code}); restarting in 1 s`);
      setTimeout(() => {
        if (!shuttingDown) launch(s);
      }, 1000);
    });
    s.proc = p;
  };
  // Start-up order does not matter: services find each other through Redis and retry.
  for (const s of services) launch(s);
  await Promise.all(services.map(async (s) => {
    const [h, p] = hostPort(s.listen);
    const up = await waitPort(h, p, 20_000);
    out(`${s.name.padEnd(11)} ${s.listen.padEnd(16)} ${up ? "up  " : "DOWN"}  ${s.note}`);
  }));
  out(`logs: ${o.logs ? "this terminal" : join(dataDir, "logs")}   stop: Ctrl-C`);
  out("FishChat is running.");

  const stop = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    out(`\n${signal}: stopping FishChat...`);
    await Promise.all(services.map((s) => stopProc(s.proc)));
    if (redis) await stopProc(redis);
    out("stopped.");
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

function stopProc(p: ChildProcess | null): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    const force = setTimeout(() => p.kill("SIGKILL"), 8000);
    p.once("exit", () => {
      clearTimeout(force);
      r();
    });
    p.kill("SIGTERM");
  });
}

main().catch((err: unknown) => {
  out(`dev-cluster failed: ${String(err)}`);
  process.exit(1);
});
