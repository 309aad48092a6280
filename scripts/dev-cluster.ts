/**
 * `npm start`: the whole FishChat cluster on one machine. Every service runs as its own OS process
 * with its conf file, next to a private redis-server (port 16379, data under <data>/redis, AOF
 * on) that this script supervises like the services; the services are pointed at it through
 * generated conf files in <data>/conf/. `--external-redis` uses the Redis the conf files name
 * instead. Ctrl-C, SIGTERM, SIGHUP or the death of the parent process (npm) stops everything.
 *
 *   node dist/scripts/dev-cluster.js [--conf-dir conf] [--data-dir data] [--logs]
 *                                    [--redis-port 16379 | --external-redis]
 *
 * Services log JSON to <data>/logs/<service>-<port>.log (or to this terminal with --logs). A
 * process that exits unexpectedly is restarted with a growing delay; one that cannot start (bad
 * config, address in use) stops the cluster with the reason in one line and exit code 1.
 * package.json's start script `exec`s this file: npm forwards SIGTERM to its child, and a shell
 * in between would die of it and leave this supervisor running, orphaned.
 */
import { join, resolve } from "node:path";
import { mkdirSync } from "node:fs";
import { connect } from "node:net";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { SERVICE_NODE_FLAGS } from "../shared/runtime-flags.js";
import { busyListeners, PidLock, type Listener } from "./dev-cluster/preflight.js";
import { DEFAULT_PRIVATE_REDIS_PORT, preparePrivateRedis, stopLeftoverRedis } from "./dev-cluster/redis.js";
import { DEV_API_KEY_FILE, ensureDevKey } from "../shared/auth/dev-key.js";
import { configuredRedis, hostPort, probeHost, readServices, writeOverrides, type ServiceDef } from "./dev-cluster/services.js";
import { Supervised } from "./dev-cluster/supervised.js";

const ROOT = resolve(import.meta.dirname, "../..");
/** How often the parent pid is checked: when npm is SIGKILLed, nobody sends us a signal. */
const PARENT_CHECK_MS = 500;
const UP_TIMEOUT_MS = 20_000;

const out = (s: string) => process.stdout.write(`${s}\n`);

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

/** Until host:port accepts connections (true), the time runs out or giveUp() says so (false). */
async function waitPort(host: string, port: number, ms: number, giveUp: () => boolean): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end && !giveUp()) {
    if (await portOpen(host, port)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

function port(v: string): number {
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new InvalidArgumentError("expected a port number");
  return Number(v);
}

interface Options {
  confDir: string;
  dataDir: string;
  logs: boolean;
  redisPort: number;
  externalRedis: boolean;
}

function parseFlags(): Options {
  const program = new Command("dev-cluster")
    .description("run the whole FishChat cluster on this machine (npm start)")
    .option("--conf-dir <dir>", "directory with gateway.json, msg_server.*.json, router.json, manager.json, monitor.json", "conf")
    .option("--data-dir <dir>", "where the private Redis, the generated conf files and the logs live", "data")
    .option("--logs", "stream every service's log to this terminal", false)
    .option("--redis-port <port>", "port of the private redis-server", port, DEFAULT_PRIVATE_REDIS_PORT)
    .option("--external-redis", "no private redis-server: use the Redis the conf files name (shared with whatever else uses it)", false)
    .allowExcessArguments(false)
    .exitOverride();
  try {
    program.parse(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    throw err;
  }
  return program.opts<Options>();
}

async function main(): Promise<void> {
  const o = parseFlags();
  const confDir = resolve(o.confDir);
  const dataDir = resolve(o.dataDir);
  const logDir = join(dataDir, "logs");
  mkdirSync(logDir, { recursive: true });

  const lock = new PidLock(join(dataDir, "dev-cluster.pid"), "dev-cluster");
  const holder = lock.take();
  if (holder !== null) {
    out(`FishChat is already running from ${dataDir} (pid ${holder}): stop it first (Ctrl-C in its terminal, or kill -TERM ${holder})`);
    process.exit(1);
  }

  const procs: Supervised[] = [];
  let redisProc: Supervised | null = null;
  let stopping = false;
  let startupFailure = "";
  const stop = async (why: string, code: number) => {
    if (stopping) return;
    stopping = true;
    out(`${why}: stopping FishChat...`);
    await Promise.all(procs.map((p) => p.stop()));
    await redisProc?.stop();
    lock.release();
    out("stopped.");
    process.exit(code);
  };
  // Installed before anything starts: a signal during start-up stops what was started.
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => void stop(`\n${sig}`, 0));
  const parentPid = process.ppid;
  setInterval(() => {
    if (process.ppid !== parentPid) void stop(`parent process ${parentPid} exited`, 0);
  }, PARENT_CHECK_MS).unref();
  const giveUp = (reason: string) => {
    if (stopping) return;
    if (!startupFailure) startupFailure = reason;
    out(reason);
    void stop("FishChat cannot run", 1);
  };

  let services: ServiceDef[];
  try {
    services = readServices(confDir);
  } catch (err) {
    out(`cannot read the conf files: ${(err as Error).message}`);
    lock.release();
    process.exit(1);
  }

  const listeners: Listener[] = services.flatMap((s) => s.listeners);
  let redisLine: string;
  const priv = o.externalRedis ? null : preparePrivateRedis(dataDir, o.redisPort);
  if (priv) {
    const leftover = await stopLeftoverRedis(priv);
    if (leftover !== null) out(`stopped redis-server pid ${leftover}, left running by an earlier cluster on ${dataDir}`);
    listeners.push({ owner: "private redis-server", host: priv.host, port: priv.port });
    redisLine = `private redis-server, data in ${priv.dir} (AOF on); services use it through ${join(dataDir, "conf")}/`;
  } else {
    const r = configuredRedis(services);
    if (!(await portOpen(r.host, r.port, 1000))) {
      out(`--external-redis: nothing answers at ${r.host}:${r.port} (the conf files' redis); start it, or drop --external-redis`);
      lock.release();
      process.exit(1);
    }
    redisLine = `external (--external-redis, from the conf files): db ${r.db}, keys prefixed "${r.keyPrefix}"`;
  }

  const busy = await busyListeners(listeners);
  if (busy.length > 0) {
    const named = busy.map(({ l, code }) => `${l.host}:${l.port} (${l.owner})${code === "EADDRINUSE" ? "" : ` ${code}`}`);
    const what = named.length > 3 ? `${named.slice(0, 3).join(", ")} and ${named.length - 3} more` : named.join(", ");
    out(`cannot start FishChat: already in use: ${what}. Is another \`npm start\` running? (\`ss -ltnp\` shows who listens)`);
    lock.release();
    process.exit(1);
  }

  const say = (line: string) => {
    if (!stopping) out(line);
  };
  if (priv) {
    redisProc = new Supervised({
      label: `redis-server ${priv.host}:${priv.port}`,
      command: "redis-server",
      args: [priv.confFile],
      cwd: ROOT,
      logFile: o.logs ? null : join(logDir, `redis-${priv.port}.log`),
      say,
      onGiveUp: (reason) => giveUp(reason.includes("ENOENT") ? `${reason} (install it: sudo apt-get install redis-server)` : reason),
    });
    redisProc.start();
    if (!(await waitPort(priv.host, priv.port, 10_000, () => stopping))) {
      giveUp(startupFailure || `redis-server did not start on ${priv.host}:${priv.port} (see ${join(logDir, `redis-${priv.port}.log`)})`);
      return;
    }
    out(`${"redis".padEnd(11)} ${`${priv.host}:${priv.port}`.padEnd(16)} up    ${redisLine}`);
  } else {
    const r = configuredRedis(services);
    out(`${"redis".padEnd(11)} ${`${r.host}:${r.port}`.padEnd(16)} up    ${redisLine}`);
  }
  // Client tokens: a random development key, made on first start and kept in the data dir.
  const devKey = ensureDevKey(dataDir);
  if (devKey.created) out(`created a development token key in ${devKey.path} (mint tokens with: node bin/token.js -conf_file=conf/msg_server.19000.json --sub alice)`);
  if (services.some((s) => s.name === "api")) {
    // The server API's key: random per checkout, like the token key, never in the repository.
    const apiKey = ensureDevKey(dataDir, DEV_API_KEY_FILE);
    if (apiKey.created) out(`created a development server API key in ${apiKey.path} (curl -H "Authorization: Bearer $(cat ${apiKey.path})" ...)`);
  }
  writeOverrides(services, dataDir, priv, devKey.path);

  const env = { ...process.env, FISHCHAT_EXIT_WITH_PARENT: "1" };
  for (const s of services) {
    const p = new Supervised({
      label: `${s.name} ${s.listen}`,
      command: process.execPath,
      args: [...SERVICE_NODE_FLAGS, join(ROOT, "dist/services", s.name, "main.js"), `-conf_file=${s.conf}`],
      cwd: ROOT,
      env,
      logFile: o.logs ? null : join(logDir, `${s.name}-${s.listen.split(":").pop()}.log`),
      say,
      onGiveUp: giveUp,
    });
    procs.push(p);
    // Start-up order does not matter: services find each other through Redis and retry.
    p.start();
  }
  const up = await Promise.all(
    services.map(async (s, i) => {
      const { host, port: p } = hostPort(s.listen);
      const ok = (await waitPort(probeHost(host), p, UP_TIMEOUT_MS, () => stopping)) && procs[i]!.running;
      if (!stopping) out(`${s.name.padEnd(11)} ${s.listen.padEnd(16)} ${ok ? "up  " : "DOWN"}  ${s.note}`);
      return ok;
    }),
  );
  if (stopping) return;
  if (!up.every(Boolean)) {
    giveUp(`FishChat did not start: ${services.filter((_, i) => !up[i]).map((s) => s.name).join(", ")} not listening after ${UP_TIMEOUT_MS / 1000} s (logs: ${logDir})`);
    return;
  }
  out(`logs: ${o.logs ? "this terminal" : logDir}   stop: Ctrl-C or kill -TERM ${process.pid}`);
  out("FishChat is running.");
}

main().catch((err: unknown) => {
  out(`dev-cluster failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
