import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const DIST = resolve(import.meta.dirname, "../..");
const SERVICES = ["gateway", "msg_server", "router", "manager", "monitor"] as const;

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

test("a FishChatServer v1 conf file fails with a hint naming the new key", () => {
  const v1 = conf({ TransportProtocols: "tcp", Listen: "0.0.0.0:19000", LocalIP: "127.0.0.1:19000" });
  const r = run("msg_server", [`-conf_file=${v1}`]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown key "TransportProtocols" \(FishChatServer v1 key; use nothing \(TCP is implied\)\)/);
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
