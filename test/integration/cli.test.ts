import test from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePorts, portOpen, sleep, waitFor } from "../support/ports.js";
import { startRedis } from "../support/redis.js";

const DIST = resolve(import.meta.dirname, "../..");
const SERVICES = ["gateway", "msg_server", "router", "manager", "monitor", "api"] as const;

function run(service: string, args: string[]) {
  return spawnSync(process.execPath, [join(DIST, "services", service, "main.js"), ...args], { encoding: "utf8", timeout: 15_000 });
}

function conf(obj: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "fc-conf-"));
  const f = join(dir, "x.json");
  writeFileSync(f, typeof obj === "string" ? obj : JSON.stringify(obj));
  return f;
}

for (const svc of SERVICES) {
  test(`${svc}: --help, --version and bad configs exit with a clear message`, () => {
    const help = run(svc, ["--help"]);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--conf_file <path>/);
    assert.match(help.stdout, new RegExp(`Usage: ${svc} -conf_file=<path>`));
    assert.match(help.stdout, new RegExp(`^  ${svc} -conf_file=conf/\\S+\\.json$`, "m"));

    // An unknown flag is a usage error: 2, like a bad config and like the clients.
    const badFlag = run(svc, ["--no-such-flag"]);
    assert.equal(badFlag.status, 2, badFlag.stderr);
    assert.match(badFlag.stderr, /unknown option '--no-such-flag'/);
    const version = run(svc, ["--version"]);
    assert.equal(version.status, 0);
    assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+$/);

    const missing = run(svc, ["-conf_file=/nonexistent/fishchat.json"]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /IM_ERR_CONFIG \/nonexistent\/fishchat\.json: cannot read config file \(ENOENT\)/);

    const unknown = conf({ clusterSecret: "0123456789", bogusKey: 1 });
    const r1 = run(svc, ["-conf_file", unknown]);
    assert.equal(r1.status, 2);
    assert.ok(r1.stderr.includes(`${unknown}: unknown key "bogusKey"`), r1.stderr);

    const wrongType = conf({ clusterSecret: "0123456789", redis: { port: "6379" } });
    const r2 = run(svc, ["--conf_file", wrongType]);
    assert.equal(r2.status, 2);
    assert.ok(r2.stderr.includes(`${wrongType}: key "redis.port"`), r2.stderr);

    const noSecret = conf({});
    const r3 = run(svc, [`-conf_file=${noSecret}`]);
    assert.equal(r3.status, 2);
    assert.match(r3.stderr, /key "clusterSecret"/);

    const badJson = conf("{ not json");
    const r4 = run(svc, [`-conf_file=${badJson}`]);
    assert.equal(r4.status, 2);
    assert.match(r4.stderr, /invalid JSON/);
  });
}

test("a FishChatServer v1 conf file: every problem on its own line, hints that fit the service", () => {
  const v1 = conf({ TransportProtocols: "tcp", Listen: "0.0.0.0:19000", LocalIP: "127.0.0.1:19000" });
  const r = run("msg_server", [`-conf_file=${v1}`]);
  assert.equal(r.status, 2);
  const lines = r.stderr.trim().split("\n");
  assert.deepEqual(lines, [
    `msg_server: IM_ERR_CONFIG ${v1}: unknown key "TransportProtocols" (FishChatServer v1 key; use nothing (TCP is implied))`,
    `msg_server: IM_ERR_CONFIG ${v1}: unknown key "Listen" (FishChatServer v1 key; use listen (lower case, "host:port"))`,
    `msg_server: IM_ERR_CONFIG ${v1}: unknown key "LocalIP" (FishChatServer v1 key; use advertiseAddr ("host:port" clients can reach))`,
    `msg_server: IM_ERR_CONFIG ${v1}: key "clusterSecret": missing (required; expected string)`,
    `msg_server: IM_ERR_CONFIG ${v1}: key "clientAuth": missing (required; expected object)`,
  ]);
  // The gateway has no advertiseAddr: its hint must not send people there.
  const g = run("gateway", [`-conf_file=${v1}`]);
  assert.equal(g.status, 2);
  assert.match(g.stderr, /unknown key "LocalIP" \(FishChatServer v1 key; this file has no such setting: remove it\)/);
  assert.doesNotMatch(g.stderr, /advertiseAddr/);
});

test("FISHCHAT_LOG_LEVEL overrides the conf file's logLevel; a bad value exits 2", { timeout: 30_000 }, async (t) => {
  const redis = await startRedis({ aof: false });
  t.after(() => redis.stop());
  const [port] = (await freePorts(1)) as [number];
  const f = conf({ clusterSecret: "0123456789", logLevel: "error", listen: `127.0.0.1:${port}`, redis: { port: redis.port } });
  const started = (level: string | undefined) =>
    new Promise<string>((resolve, reject) => {
      const env = { ...process.env };
      delete env.FISHCHAT_LOG_LEVEL;
      if (level !== undefined) env.FISHCHAT_LOG_LEVEL = level;
      const p = spawn(process.execPath, [join(DIST, "services/gateway/main.js"), `-conf_file=${f}`], { env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      p.stdout!.on("data", (b: Buffer) => (out += b.toString()));
      p.once("exit", () => resolve(out));
      p.once("error", reject);
      // Up (the port answers), then stopped: whatever it logged by then is in `out`.
      void waitFor("the gateway to listen", () => portOpen(port), 15_000).then(() => p.kill("SIGTERM"), reject);
    });
  const quiet = await started(undefined);
  assert.doesNotMatch(quiet, /"msg":"gateway listening"/, "logLevel error from the file holds without the env var");
  const loud = await started("debug");
  assert.match(loud, /"level":30,.*"msg":"gateway listening"/, "FISHCHAT_LOG_LEVEL=debug wins over the file's error");
  const bad = spawnSync(process.execPath, [join(DIST, "services/gateway/main.js"), `-conf_file=${f}`], { encoding: "utf8", env: { ...process.env, FISHCHAT_LOG_LEVEL: "loud" }, timeout: 15_000 });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^gateway: IM_ERR_CONFIG FISHCHAT_LOG_LEVEL: "loud" is not a log level/);
});

test("a signal during start-up stops the service once it is up; a second one exits at once", { timeout: 30_000 }, async (t) => {
  const redis = await startRedis({ aof: false });
  t.after(() => redis.stop());
  const admin = redis.client();
  t.after(() => admin.call("CLIENT", "UNPAUSE").catch(() => undefined));
  const [port] = (await freePorts(1)) as [number];
  const f = conf({ clusterSecret: "0123456789", listen: `127.0.0.1:${port}`, redis: { port: redis.port } });
  const launch = () => {
    const p = spawn(process.execPath, [join(DIST, "services/gateway/main.js"), `-conf_file=${f}`], { stdio: ["ignore", "pipe", "pipe"] });
    const r = { out: "", code: undefined as number | null | undefined, p };
    p.stdout!.on("data", (b: Buffer) => (r.out += b.toString()));
    p.once("exit", (code) => (r.code = code));
    return r;
  };
  // Redis holds every command: the gateway's start-up (its first registry read) waits.
  await admin.call("CLIENT", "PAUSE", "5000", "ALL");
  const one = launch();
  // Node is up and the gateway is waiting on Redis (it logs nothing until it is started).
  await sleep(1500);
  assert.equal(one.out, "", "still starting");
  one.p.kill("SIGTERM");
  await waitFor("it exits", () => one.code !== undefined, 15_000);
  assert.equal(one.code, 0, `exit code (log: ${one.out})`);
  assert.match(one.out, /"msg":"signal during start-up: stopping once started"/);
  assert.match(one.out, /"msg":"stopping"/, "the stop ran once the start finished");
  assert.match(one.out, /"msg":"stopped"/);

  // A start-up that never finishes still ends on a second signal.
  await admin.call("CLIENT", "PAUSE", "20000", "ALL");
  const two = launch();
  await sleep(1500);
  two.p.kill("SIGTERM");
  await waitFor("the first signal held", () => two.out.includes("signal during start-up"), 5000);
  const t0 = Date.now();
  two.p.kill("SIGTERM");
  await waitFor("it exits", () => two.code !== undefined, 5000);
  assert.ok(Date.now() - t0 < 3000, "the second signal exits at once");
  assert.doesNotMatch(two.out, /"msg":"stopped"/, "nothing was started, so nothing was stopped");
});

test("the shipped conf files are valid", async () => {
  // --help parses flags only; validate every shipped file through the real loader instead.
  const { loadConfig } = (await import(join(DIST, "shared/config/load-config.js"))) as typeof import("../../shared/config/load-config.js");
  const schemas: Record<string, string> = {
    "gateway.json": "services/gateway/config.js:gatewaySchema",
    "msg_server.19000.json": "services/msg_server/config.js:msgServerSchema",
    "msg_server.19001.json": "services/msg_server/config.js:msgServerSchema",
    "router.json": "services/router/config.js:routerSchema",
    "manager.json": "services/manager/config.js:managerSchema",
    "monitor.json": "services/monitor/config.js:monitorSchema",
  };
  for (const [file, ref] of Object.entries(schemas)) {
    const [mod, name] = ref.split(":") as [string, string];
    const schema = ((await import(join(DIST, mod))) as Record<string, Parameters<typeof loadConfig>[1]>)[name]!;
    assert.doesNotThrow(() => loadConfig(resolve(DIST, "..", "conf", file), schema), file);
  }
});
