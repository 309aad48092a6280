import test from "node:test";
import { clientAuthSchema } from "../../shared/auth/config.js";
import { mintToken } from "../../shared/auth/mint.js";
import { parseConfig } from "../../shared/config/load-config.js";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { Redis } from "ioredis";
import { FishChatClient, requestMsgServer, type P2PMessage } from "../../shared/client/client.js";
import { alive, DevDir } from "../support/dev-cluster.js";
import { portOpen, sleep, waitFor } from "../support/ports.js";
import { startRedis } from "../support/redis.js";

const DIST = resolve(import.meta.dirname, "../..");

/** One command to redis-server on a plain socket, its first reply line. */
function rawRedis(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port }, () => s.write(command));
    let got = "";
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      got += d;
      if (got.includes("\r\n")) {
        s.destroy();
        resolve(got.slice(0, got.indexOf("\r\n")));
      }
    });
    s.on("error", reject);
  });
}

/** Two clients chat through the gateway, logging in with tokens signed by the cluster's development key. */
async function chat(gateway: string, dataDir: string): Promise<void> {
  const auth = parseConfig("dev", { keys: [{ kid: "dev", alg: "HS256", secretFile: join(dataDir, "dev-token.key") }] }, clientAuthSchema);
  const alice = new FishChatClient({ heartbeatMs: 0 });
  const bob = new FishChatClient({ heartbeatMs: 0 });
  try {
    await alice.connect(await waitFor("gateway answers", () => requestMsgServer(gateway).catch(() => null), 15_000));
    await alice.login("alice", await mintToken(auth, { sub: "alice", ttlSec: 600 }));
    const got: P2PMessage[] = [];
    bob.on("p2p", (m: P2PMessage) => got.push(m));
    await bob.connect(await requestMsgServer(gateway));
    await bob.login("bob", await mintToken(auth, { sub: "bob", ttlSec: 600 }));
    await alice.sendP2P("bob", "hello from npm start");
    await waitFor("bob receives", () => got.length === 1, 10_000);
  } finally {
    alice.close();
    bob.close();
  }
}

/** A binary from bin/, run as the README runs it: from the directory npm start runs in. */
function runBin(cwd: string, bin: string, args: string[], stdin = ""): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [join(DIST, "..", "bin", `${bin}.js`), ...args], { cwd, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    p.stderr!.on("data", (b: Buffer) => (err += b.toString()));
    p.stdin!.end(stdin);
    p.once("exit", (code) => done({ code, out, err }));
  });
}

/** The README's quick start: the bundled clients with --dev-token, and a token from the token binary on a raw socket. */
async function readmeChat(cwd: string, gateway: string, msConf: string, msPort: number): Promise<void> {
  const bob = runBin(cwd, "client_p2p", [`--gateway=${gateway}`, "--id", "bob", "--dev-token", msConf, "--expect", "1", "--wait-ms", "20000"]);
  await sleep(1500); // bob logged in: alice's message goes live, not through the inbox (either way it must arrive)
  const alice = await runBin(cwd, "client_p2p", [`--gateway=${gateway}`, "--id", "alice", "--dev-token", msConf, "--send", "bob hello there"]);
  assert.equal(alice.code, 0, alice.out + alice.err);
  assert.match(alice.out, /sent to bob seq \d+/);
  const b = await bob;
  assert.equal(b.code, 0, b.out + b.err);
  assert.match(b.out, /alice says : hello there/);
  // Without a token the login is refused.
  const anon = await runBin(cwd, "client_p2p", [`--gateway=${gateway}`, "--id", "mallory", "--send", "bob hi"]);
  assert.notEqual(anon.code, 0);
  assert.match(anon.out + anon.err, /IM_ERR_AUTH_FAILED/);

  const minted = await runBin(cwd, "token", [`-conf_file=${msConf}`, "--sub", "carol", "--ttl", "1h"]);
  assert.equal(minted.code, 0, minted.err);
  const token = minted.out.trim();
  assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  const reply = await new Promise<string>((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port: msPort }, () => s.write(`SEND_CLIENT_ID carol ${token}\n`));
    let got = "";
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      got += d;
      if (got.includes("\n")) {
        s.destroy();
        resolve(got.slice(0, got.indexOf("\n")));
      }
    });
    s.on("error", reject);
  });
  assert.equal(reply, "OK SEND_CLIENT_ID carol");
}

/** The server API answers with the random key npm start created (data/dev-api.key, mode 0600), and only with it. */
async function serverApiSend(port: number, dataDir: string): Promise<void> {
  const keyFile = join(dataDir, "dev-api.key");
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  const key = readFileSync(keyFile, "utf8").trim();
  const send = (k: string) =>
    fetch(`http://127.0.0.1:${port}/v1/messages/p2p`, { method: "POST", headers: { authorization: `Bearer ${k}`, "content-type": "application/json" }, body: JSON.stringify({ to: "carol", body: "from the backend", clientMessageId: "npm-start-1" }) });
  const ok = await waitFor("the server API links to a msg_server", async () => {
    const r = await send(key).catch(() => null);
    return r?.status === 200 ? ((await r.json()) as { seq: number }) : null;
  }, 15_000);
  assert.equal(ok.seq, 1);
  assert.equal((await send(`${key}x`)).status, 401);
}

test("npm start: own redis apart from the conf files' one, one-line refusal of a second start, crashes restarted, SIGTERM to npm stops everything", { timeout: 120_000 }, async (t) => {
  // Stands in for the machine's Redis on 6379, which the shipped conf files name.
  const systemRedis = await startRedis({ aof: false });
  t.after(() => systemRedis.stop());
  const d = await DevDir.create(t, systemRedis.port);
  const p = d.ports;
  const run = d.npmStart();
  await run.running();
  assert.match(run.out, new RegExp(`redis +127\\.0\\.0\\.1:${p.privateRedis} +up +private redis-server, data in .*AOF on`));
  for (const port of [p.gateway, p.ms1, p.ms2, p.router, p.manager, p.monitor, p.api]) assert.match(run.out, new RegExp(`:${port} +up `), `port ${port} reported up`);
  assert.match(run.out, new RegExp(`dashboard http://127\\.0\\.0\\.1:${p.http}/`));
  await serverApiSend(p.api, run.dataDir);
  await chat(`127.0.0.1:${p.gateway}`, run.dataDir);
  await readmeChat(d.dir, `127.0.0.1:${p.gateway}`, `conf/msg_server.${p.ms1}.json`, p.ms1);

  // Everything went to the private Redis (password-protected), nothing to the conf files' Redis.
  const password = readFileSync(join(run.dataDir, "redis", "password"), "utf8").trim();
  const priv = new Redis({ port: p.privateRedis, password, maxRetriesPerRequest: 1 });
  priv.on("error", () => undefined); // while the redis-server is killed below
  t.after(() => priv.disconnect());
  assert.ok((await priv.keys("fc:*")).length > 0, "the cluster's keys are in the private redis");
  const sys = systemRedis.client();
  assert.equal(await sys.dbsize(), 0, "nothing written to the conf files' redis");
  assert.match(await rawRedis(p.privateRedis, "GET x\r\n"), /^-NOAUTH/, "no access without the password");

  // A second start, from the same data directory: one line, non-zero exit, within seconds.
  const began = Date.now();
  const again = d.npmStart();
  await again.exit(20_000);
  assert.notEqual(again.code, 0);
  assert.deepEqual(again.ownLines, [`FishChat is already running from ${run.dataDir} (pid ${run.supervisorPid}): stop it first (Ctrl-C in its terminal, or kill -TERM ${run.supervisorPid})`], again.out);
  // From another data directory: the ports say it.
  const other = d.npmStart([], "data2");
  await other.exit(20_000);
  assert.notEqual(other.code, 0);
  assert.equal(other.ownLines.length, 1, other.out);
  assert.match(other.ownLines[0]!, /^cannot start FishChat: already in use: 127\.0\.0\.1:\d+ \(\w+\), .* and \d+ more\. Is another `npm start` running\?/);
  assert.ok(Date.now() - began < 20_000);
  assert.doesNotMatch(run.out, /restarting/, "the running cluster was not disturbed");

  // A crashed private redis-server and a crashed service are both restarted, and said so.
  const redisPid = run.redisPid!;
  process.kill(redisPid, "SIGKILL");
  await waitFor("the redis restart line", () => run.out.includes(`redis-server 127.0.0.1:${p.privateRedis} exited (SIGKILL); restarting in 1 s`), 10_000);
  await waitFor("a new redis-server", () => run.readRedisPid() !== redisPid && portOpen(p.privateRedis), 10_000);
  const gw = d.servicePid("gateway.json")!;
  process.kill(gw, "SIGKILL");
  await waitFor("the gateway restart line", () => run.out.includes(`gateway 127.0.0.1:${p.gateway} exited (SIGKILL); restarting in 1 s`), 10_000);
  await waitFor("a new gateway", () => d.servicePid("gateway.json") !== gw && portOpen(p.gateway), 10_000);
  await chat(`127.0.0.1:${p.gateway}`, run.dataDir);

  // What a supervisor or `kill %1` sends: SIGTERM to npm itself. npm forwards it; the start script
  // execs the supervisor, so no shell sits in between to die and orphan it.
  priv.disconnect();
  run.proc.kill("SIGTERM");
  await run.exit(20_000);
  assert.match(run.out, /SIGTERM: stopping FishChat/);
  assert.match(run.out, /stopped\./);
  await d.assertAllGone();
});

test("npm start --external-redis uses the conf files' Redis; SIGKILL of npm still stops everything", { timeout: 90_000 }, async (t) => {
  const external = await startRedis({ aof: false });
  t.after(() => external.stop());
  const d = await DevDir.create(t, external.port);
  const run = d.npmStart(["--external-redis"]);
  await run.running();
  assert.match(run.out, new RegExp(`redis +127\\.0\\.0\\.1:${external.port} +up +external \\(--external-redis, from the conf files\\): db 0, keys prefixed "fc:"`));
  await waitFor("the cluster's keys in the external redis", async () => (await external.client().keys("fc:*")).length > 0, 10_000);
  const supervisor = run.supervisorPid!;
  run.proc.kill("SIGKILL");
  await run.exit();
  // Nobody signals the supervisor: it sees its parent change, then stops the services.
  await waitFor("the supervisor to exit", () => !alive(supervisor), 10_000, 100);
  await d.assertAllGone();
});

test("a service that cannot start stops the cluster with the reason in one line", { timeout: 90_000 }, async (t) => {
  const external = await startRedis({ aof: false });
  t.after(() => external.stop());
  const d = await DevDir.create(t, external.port);
  const run = (label: string) => {
    const p = spawn(process.execPath, [join(DIST, "scripts/dev-cluster.js"), "--conf-dir", d.conf, "--data-dir", join(d.dir, label), "--redis-port", String(d.ports.privateRedis)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    p.stderr!.on("data", (b: Buffer) => (out += b.toString()));
    t.after(() => p.kill("SIGKILL"));
    return new Promise<{ code: number | null; out: string }>((r) => p.once("exit", (code) => r({ code, out })));
  };

  // A bad conf file: exit code 2 from the service, which no restart can fix.
  const common = { clusterSecret: "dev-cluster-test-secret", redis: { host: "127.0.0.1", port: external.port } };
  d.write("router.json", { ...common, listen: `127.0.0.1:${d.ports.router}`, bogusKey: 1 });
  const bad = await run("bad-conf");
  assert.equal(bad.code, 1, bad.out);
  assert.match(bad.out, new RegExp(`^router 127\\.0\\.0\\.1:${d.ports.router} exited \\(code 2\\): router: IM_ERR_CONFIG \\S+router\\.json: unknown key "bogusKey"; not restarting$`, "m"));
  assert.doesNotMatch(bad.out, /restarting in/);
  assert.doesNotMatch(bad.out, /FishChat is running/);
  await d.assertAllGone();

  // Two services on one address (a conf mistake the port check cannot see): EADDRINUSE, said once.
  d.write("router.json", { ...common, listen: `127.0.0.1:${d.ports.gateway}` });
  const clash = await run("clash");
  assert.equal(clash.code, 1, clash.out);
  assert.match(clash.out, new RegExp(`^(router|gateway) 127\\.0\\.0\\.1:${d.ports.gateway} exited \\(code 1\\): .*EADDRINUSE.*; not restarting$`, "m"));
  assert.doesNotMatch(clash.out, /restarting in/);
  await d.assertAllGone();
});
