import test from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { checkExposure, DEV_CLUSTER_SECRET, ExposureCode, type ExposureInput, formatRefusal, isLoopbackHost } from "../../../shared/config/exposure.js";

const ROOT = resolve(import.meta.dirname, "../../../..");
const STRONG = "q3V9yZpX2cKf7LrT0wNbA8sHjD4mE6uG"; // 32 bytes
const codes = (fs: { code: string }[]) => fs.map((f) => f.code);
const ms = (listen: string, extra: Partial<ExposureInput> = {}): ExposureInput => ({
  listeners: [{ name: "listen", addr: listen, clientFacing: true }],
  clusterSecret: DEV_CLUSTER_SECRET,
  ...extra,
});

test("DEV_CLUSTER_SECRET is the value the shipped conf files use", () => {
  const confDir = join(ROOT, "conf");
  const secrets = readdirSync(confDir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => (JSON.parse(readFileSync(join(confDir, f), "utf8")) as { clusterSecret?: string }).clusterSecret)
    .filter((s) => s !== undefined);
  assert.ok(secrets.length >= 4);
  assert.deepEqual([...new Set(secrets)], [DEV_CLUSTER_SECRET]);
});

test("loopback: 127/8, ::1 in its spellings, localhost; not 0.0.0.0, ::, names or LAN addresses", () => {
  for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "localhost", "LOCALHOST"]) assert.ok(isLoopbackHost(h), h);
  for (const h of ["0.0.0.0", "::", "[::]", "10.0.0.5", "192.168.1.2", "::ffff:10.0.0.1", "chat.example.com", "128.0.0.1", "::2"]) assert.ok(!isLoopbackHost(h), h);
});

test("the dev secret or a short one refuses a non-loopback listener, and only that", () => {
  assert.deepEqual(checkExposure(ms("127.0.0.1:19000")).refuse, []);
  assert.deepEqual(checkExposure(ms("[::1]:19000", { clusterSecret: "short" })).refuse, []);
  const dev = checkExposure(ms("0.0.0.0:19000"));
  assert.deepEqual(codes(dev.refuse), [ExposureCode.dev_cluster_secret]);
  assert.match(dev.refuse[0]!.message, /listen 0\.0\.0\.0:19000 .*development value.*openssl rand/);
  assert.deepEqual(codes(checkExposure(ms("10.1.2.3:19000", { clusterSecret: STRONG.slice(1) })).refuse), [ExposureCode.short_cluster_secret]);
  assert.deepEqual(checkExposure(ms("0.0.0.0:19000", { clusterSecret: STRONG })).refuse, []);
  // Bytes, not characters: 11 three-byte characters are 33 bytes.
  assert.deepEqual(checkExposure(ms("0.0.0.0:19000", { clusterSecret: "秘".repeat(11) })).refuse, []);
  // Any one exposed listener is enough.
  const two: ExposureInput = { listeners: [{ name: "listen", addr: "127.0.0.1:1" }, { name: "admin", addr: "[::]:2" }], clusterSecret: DEV_CLUSTER_SECRET };
  assert.match(checkExposure(two).refuse[0]!.message, /^admin \[::\]:2 /);
});

test("the monitor's HTTP API beyond loopback needs a token or a username and password", () => {
  const mon = (addr: string, creds: Partial<{ token: string; username: string; password: string }> = {}) =>
    checkExposure({ listeners: [{ name: "listen", addr: "127.0.0.1:21000" }], clusterSecret: DEV_CLUSTER_SECRET, monitorHttp: { addr, token: "", username: "", password: "", ...creds } });
  assert.deepEqual(mon("127.0.0.1:30000").refuse, []);
  assert.deepEqual(codes(mon("0.0.0.0:30000").refuse), [ExposureCode.monitor_without_credentials]);
  assert.deepEqual(codes(mon("0.0.0.0:30000", { username: "admin" }).refuse), [ExposureCode.monitor_without_credentials]);
  assert.deepEqual(mon("0.0.0.0:30000", { token: "t0k3n" }).refuse, []);
  assert.deepEqual(mon("0.0.0.0:30000", { username: "admin", password: "pw" }).refuse, []);
});

test("clientAuth none is a warning, louder when exposed; plaintext exposure warns", () => {
  const local = checkExposure(ms("127.0.0.1:19000", { clientAuthMode: "none" }));
  assert.deepEqual(local.refuse, []);
  assert.deepEqual(codes(local.warn), [ExposureCode.client_auth_none]);
  assert.match(local.warn[0]!.message, /v1 compatibility/);
  const open = checkExposure(ms("0.0.0.0:19000", { clusterSecret: STRONG, clientAuthMode: "none" }));
  assert.deepEqual(open.refuse, []);
  assert.match(open.warn[0]!.message, /anyone can log in as any client id/);
  assert.deepEqual(checkExposure(ms("0.0.0.0:19000", { clusterSecret: STRONG, clientAuthMode: "token" })).warn, []);
  const plain = checkExposure({ listeners: [{ name: "listen", addr: "0.0.0.0:19000", tls: false }, { name: "tls", addr: "0.0.0.0:19443", tls: true }], clusterSecret: STRONG });
  assert.deepEqual(codes(plain.warn), [ExposureCode.plaintext_listener]);
  assert.match(plain.warn[0]!.message, /19000/);
});

test("formatRefusal: one stderr line per reason", () => {
  const r = checkExposure({ listeners: [{ name: "listen", addr: "0.0.0.0:1" }], clusterSecret: "x", monitorHttp: { addr: "0.0.0.0:2", token: "", username: "", password: "" } });
  const text = formatRefusal("monitor", r);
  assert.equal(text.split("\n").length, 3);
  assert.match(text, /^monitor: refusing to start: listen 0\.0\.0\.0:1 .*1 bytes/m);
  assert.match(text, /^monitor: refusing to start: monitor http 0\.0\.0\.0:2 /m);
});
