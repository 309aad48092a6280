/**
 * `npm start` as a test can run it: the real npm running the real start script of package.json
 * (without its bootstrap step, which installs and rebuilds), in a temp directory whose conf files
 * use free ports. Everything it starts is found again by pid (the supervisor's pid file, the
 * private redis-server's pid file, /proc command lines naming the temp directory) so a test can
 * prove nothing is left running, and clean up when it fails half-way.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { TestContext } from "node:test";
import { freePorts, portOpen, sleep, waitFor } from "./ports.js";

const DIST = resolve(import.meta.dirname, "../..");
const ROOT = resolve(DIST, "..");

/** package.json's start script minus `bash scripts/bootstrap.sh start && `, with an absolute path to dist/. */
export function startScriptWithoutBootstrap(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
  const m = /^bash scripts\/bootstrap\.sh start && (.+)$/.exec(pkg.scripts.start ?? "");
  if (!m) throw new Error(`unexpected start script: ${pkg.scripts.start}`);
  return m[1]!.replace("dist/scripts/dev-cluster.js", join(DIST, "scripts/dev-cluster.js"));
}

/** The npm that runs this node, as its own process (no shell wrapper): the pid a supervisor would signal. */
function npmCommand(): [string, string[]] {
  const cli = resolve(dirname(process.execPath), "../lib/node_modules/npm/bin/npm-cli.js");
  return existsSync(cli) ? [process.execPath, [cli]] : ["npm", []];
}

export interface DevPorts {
  gateway: number;
  ms1: number;
  ms2: number;
  router: number;
  manager: number;
  monitor: number;
  http: number;
  privateRedis: number;
  /** The server API's HTTP port. */
  api: number;
}

/** A temp directory with a package.json (the start script) and conf files on free ports. */
export class DevDir {
  readonly dir = mkdtempSync(join(tmpdir(), "fc-npm-start-"));
  readonly conf = join(this.dir, "conf");
  readonly runs: NpmStart[] = [];

  constructor(
    readonly ports: DevPorts,
    /** The Redis the conf files name (a test redis standing in for the machine's own). */
    readonly confRedisPort: number,
  ) {
    mkdirSync(this.conf);
    const pkg = { name: "fc-npm-start-test", version: "0.0.0", private: true, scripts: { start: startScriptWithoutBootstrap() } };
    writeFileSync(join(this.dir, "package.json"), JSON.stringify(pkg));
    const p = ports;
    const common = { clusterSecret: "dev-cluster-test-secret", redis: { host: "127.0.0.1", port: confRedisPort } };
    const seeds = [`127.0.0.1:${p.ms1}`, `127.0.0.1:${p.ms2}`];
    const store = { dataDir: join(this.dir, "store") };
    // As in the shipped conf: the development key, which the supervisor creates in its data dir.
    const clientAuth = { mode: "token", keys: [{ kid: "dev", alg: "HS256", secretFile: "./data/dev-token.key" }] };
    this.write("gateway.json", { ...common, listen: `127.0.0.1:${p.gateway}`, msgServerList: seeds });
    this.write(`msg_server.${p.ms1}.json`, { ...common, listen: `127.0.0.1:${p.ms1}`, advertiseAddr: `127.0.0.1:${p.ms1}`, store, clientAuth });
    this.write(`msg_server.${p.ms2}.json`, { ...common, listen: `127.0.0.1:${p.ms2}`, advertiseAddr: `127.0.0.1:${p.ms2}`, store, clientAuth });
    this.write("router.json", { ...common, listen: `127.0.0.1:${p.router}`, msgServerList: seeds });
    this.write("manager.json", { ...common, listen: `127.0.0.1:${p.manager}`, msgServerList: seeds, store });
    this.write("monitor.json", { ...common, listen: `127.0.0.1:${p.monitor}`, msgServerList: seeds, http: { host: "127.0.0.1", port: p.http } });
    // As in the shipped conf: the key file the supervisor creates in its data dir.
    this.write("api.json", { ...common, listen: `127.0.0.1:${p.api}`, msgServerList: seeds, keys: [{ name: "dev", file: "./data/dev-api.key" }] });
  }

  static async create(t: TestContext, confRedisPort: number): Promise<DevDir> {
    const [gateway, ms1, ms2, router, manager, monitor, http, privateRedis, api] = (await freePorts(9)) as [number, number, number, number, number, number, number, number, number];
    const d = new DevDir({ gateway, ms1, ms2, router, manager, monitor, http, privateRedis, api }, confRedisPort);
    t.after(() => d.cleanup());
    return d;
  }

  write(file: string, body: object): void {
    writeFileSync(join(this.conf, file), JSON.stringify(body));
  }

  /** Every TCP port the cluster listens on (private Redis included). */
  get allPorts(): number[] {
    return Object.values(this.ports);
  }

  /** `npm start -- <args>` in this directory; --conf-dir, --redis-port and --data-dir data are added. */
  npmStart(args: string[] = [], dataDir = "data"): NpmStart {
    const [cmd, pre] = npmCommand();
    const full = [...pre, "start", "--", "--conf-dir", this.conf, "--data-dir", join(this.dir, dataDir), "--redis-port", String(this.ports.privateRedis), ...args];
    const r = new NpmStart(spawn(cmd, full, { cwd: this.dir, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false" } }), join(this.dir, dataDir));
    this.runs.push(r);
    return r;
  }

  /** Live processes whose command line names this directory (services, supervisor). */
  processes(): number[] {
    const out: number[] = [];
    for (const e of readdirSync("/proc")) {
      if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
      try {
        if (readFileSync(`/proc/${e}/cmdline`, "utf8").includes(this.dir)) out.push(Number(e));
      } catch {
        // exited meanwhile
      }
    }
    return out;
  }

  /** The pid of the service whose conf file name contains `conf` (e.g. "gateway.json"). */
  servicePid(conf: string): number | null {
    return (
      this.processes().find((pid) => {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
        return cmd.includes("main.js") && cmd.includes(conf);
      }) ?? null
    );
  }

  /** Nothing of this cluster runs and every port is closed (waits up to timeoutMs for it). */
  async assertAllGone(timeoutMs = 15_000): Promise<void> {
    await waitFor("every process of the cluster to exit", () => this.processes().length === 0 && this.runs.every((r) => r.redisPid === null || !alive(r.redisPid)), timeoutMs, 100);
    for (const port of this.allPorts) if (await portOpen(port)) throw new Error(`port ${port} still open`);
  }

  /** After a test: stop whatever is still running, gently first. */
  async cleanup(): Promise<void> {
    for (const r of this.runs) if (r.code === undefined) r.proc.kill("SIGTERM");
    const sup = this.runs.map((r) => r.supervisorPid).filter((p): p is number => p !== null && alive(p));
    for (const pid of sup) process.kill(pid, "SIGTERM");
    const end = Date.now() + 10_000;
    while (Date.now() < end && (this.processes().length > 0 || this.runs.some((r) => r.redisPid !== null && alive(r.redisPid)))) await sleep(100);
    for (const pid of this.processes()) process.kill(pid, "SIGKILL");
    for (const r of this.runs) if (r.redisPid !== null && alive(r.redisPid)) process.kill(r.redisPid, "SIGKILL");
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One `npm start`: its output and exit, and the pids of what it started. */
export class NpmStart {
  out = "";
  code: number | null | undefined = undefined;
  signal: NodeJS.Signals | null = null;
  readonly exited: Promise<void>;
  /** Known once the cluster is up (read from the data directory). */
  supervisorPid: number | null = null;
  redisPid: number | null = null;

  constructor(
    readonly proc: ChildProcess,
    readonly dataDir: string,
  ) {
    proc.stdout!.setEncoding("utf8").on("data", (s: string) => (this.out += s));
    proc.stderr!.setEncoding("utf8").on("data", (s: string) => (this.out += s));
    this.exited = new Promise((r) =>
      proc.once("exit", (code, signal) => {
        this.code = code;
        this.signal = signal;
        r();
      }),
    );
  }

  /** Our supervisor's lines, without npm's banner (`> ...`) and npm's own error lines. */
  get ownLines(): string[] {
    return this.out.split("\n").filter((l) => l.trim() !== "" && !l.startsWith(">") && !l.startsWith("npm "));
  }

  async running(timeoutMs = 45_000): Promise<void> {
    await waitFor(`"FishChat is running." in:\n${this.out}`, () => {
      if (this.code !== undefined) throw new Error(`npm start exited ${this.code}:\n${this.out}`);
      return this.out.includes("FishChat is running.");
    }, timeoutMs, 50);
    this.supervisorPid = Number(readFileSync(join(this.dataDir, "dev-cluster.pid"), "utf8"));
    this.readRedisPid();
  }

  /** The private redis-server's pid, from its pid file (it changes when the supervisor restarts it). */
  readRedisPid(): number | null {
    const file = join(this.dataDir, "redis", "redis.pid");
    if (existsSync(file)) this.redisPid = Number(readFileSync(file, "utf8"));
    return this.redisPid;
  }

  async exit(timeoutMs = 20_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`npm start did not exit:\n${this.out}`)), timeoutMs);
    });
    try {
      await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
