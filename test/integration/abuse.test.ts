/**
 * What issue 10 found when FishChat was tried as an attacker would, each as a regression test
 * against real processes: a pipelined HISTORY flood, slowloris on the msg_server and the gateway,
 * one address filling the gateway, exposure with the development secret, secrets in the logs.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import test from "node:test";
import { DEV_CLUSTER_SECRET } from "../../shared/config/exposure.js";
import { startCluster, statsOf, SECRET } from "../support/cluster.js";
import { freePort, sleep, waitFor } from "../support/ports.js";
import { RawPeer } from "../support/raw.js";

const DIST = resolve(import.meta.dirname, "../..");

test("a pipelined flood of huge HISTORY pages neither kills the msg_server nor swells it, and others stay served", { timeout: 180_000 }, async (t) => {
  const cl = await startCluster(t, { msgServers: 1, router: false });
  const ms = cl.msgServers[0]!;
  const alice = await cl.client("alice", { via: ms.addr });
  const body = "h".repeat(32_000);
  for (let i = 0; i < 500; i++) await alice.sendP2P("bob", `${i} ${body}`);
  const before = (await statsOf(ms)).rssBytes!;

  // 400 pipelined requests for 500 messages of 32 KB each: 6.4 GB of replies if built at once.
  const token = await cl.token("mallory");
  const flood = await RawPeer.open(ms.addr);
  flood.socket.pause(); // and never read
  flood.write(`SEND_CLIENT_ID mallory ${token}\n`);
  const lines = Array.from({ length: 400 }, () => "HISTORY p2p alice 0 500\n").join("");
  flood.write(lines);

  // Meanwhile another client keeps getting answers quickly.
  const carol = await cl.client("carol", { via: ms.addr });
  let worst = 0;
  let peak = before;
  const until = Date.now() + 6000;
  while (Date.now() < until) {
    const t0 = Date.now();
    await carol.request({ name: "SEND_PING", args: ["PING"] });
    worst = Math.max(worst, Date.now() - t0);
    peak = Math.max(peak, (await statsOf(ms)).rssBytes!);
    await sleep(200);
  }
  flood.close();
  await sleep(1000);
  const after = (await statsOf(ms)).rssBytes!;
  assert.ok(ms.running, "the msg_server is alive");
  assert.ok(peak - before < 300 * 1024 * 1024, `RSS grew by ${Math.round((peak - before) / 1048576)} MB under the flood (bounded reads)`);
  assert.ok(worst < 1000, `another client's ping took at most ${worst} ms`);
  assert.ok(after - before < 300 * 1024 * 1024, `and stays bounded after the flooder is gone (${Math.round((after - before) / 1048576)} MB)`);
  // The server is still fully usable.
  const r = await carol.request({ name: "HISTORY", args: ["p2p", "alice", "0", "5"] });
  assert.deepEqual(r.args.slice(0, 2), ["HISTORY", "0"], "carol has no conversation with alice; the read path works");
});

test("slowloris: connections that trickle bytes are closed at the deadline, counted from connect", { timeout: 60_000 }, async (t) => {
  const cl = await startCluster(t, { msgServers: 1, router: false, conf: { msg_server: { loginTimeoutMs: 1500 }, gateway: { requestTimeoutMs: 1500 } } });
  const targets = [cl.msgServers[0]!.addr, cl.gateway!.addr];
  const socks = targets.flatMap((addr) =>
    Array.from({ length: 20 }, () => {
      const [host, port] = [addr.slice(0, addr.lastIndexOf(":")), Number(addr.slice(addr.lastIndexOf(":") + 1))];
      const s = connect({ host, port });
      const st = { closed: false, at: 0 };
      s.on("error", () => undefined);
      s.on("close", () => {
        st.closed = true;
        st.at = Date.now();
      });
      return { s, st };
    }),
  );
  const opened = Date.now();
  // One byte every 300 ms, never a full line: without a deadline from connect this lasts for ever.
  const drip = setInterval(() => {
    for (const { s, st } of socks) if (!st.closed) s.write("S");
  }, 300);
  t.after(() => clearInterval(drip));
  await waitFor("every trickling connection closed", () => socks.every(({ st }) => st.closed), 10_000);
  clearInterval(drip);
  const latest = Math.max(...socks.map(({ st }) => st.at - opened));
  assert.ok(latest < 4000, `all closed within ${latest} ms (deadline 1.5 s, swept every second)`);
});

test("one address cannot fill the gateway", { timeout: 60_000 }, async (t) => {
  const cl = await startCluster(t, { msgServers: 1, router: false, conf: { gateway: { maxConnectionsPerAddress: 5 } } });
  const held = await Promise.all(Array.from({ length: 5 }, () => RawPeer.open(cl.gateway!.addr)));
  t.after(() => {
    for (const p of held) p.close();
  });
  const sixth = await RawPeer.open(cl.gateway!.addr);
  await sixth.waitClosed();
  assert.equal(sixth.received[0]?.args[0], "IM_ERR_TOO_MANY_CONNECTIONS");
  held[0]!.close();
  await sleep(200);
  const again = await RawPeer.open(cl.gateway!.addr);
  again.write("REQ_MSG_SERVER\n");
  assert.equal((await again.next((c) => c.name === "SELECT_MSG_SERVER_FOR_CLIENT")).args[0], cl.msgServers[0]!.addr);
});

test("a msg_server or gateway bound beyond loopback refuses to start with the development secret", { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "fc-exposed-"));
  const port = await freePort();
  const run = (svc: string, conf: object) => {
    const f = join(dir, `${svc}-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(f, JSON.stringify(conf));
    return spawnSync(process.execPath, [join(DIST, "services", svc, "main.js"), `-conf_file=${f}`], { encoding: "utf8", timeout: 20_000 });
  };
  const ms = run("msg_server", { listen: `0.0.0.0:${port}`, clusterSecret: DEV_CLUSTER_SECRET, clientAuth: { mode: "none" }, store: { dataDir: dir }, redis: { port: 1 } });
  assert.equal(ms.status, 2, ms.stderr);
  assert.match(ms.stderr, /msg_server: IM_ERR_CONFIG refusing to start: .*development/i);
  const short = run("gateway", { listen: `0.0.0.0:${port}`, clusterSecret: "short-but-valid", redis: { port: 1 } });
  assert.equal(short.status, 2, short.stderr);
  assert.match(short.stderr, /refusing to start: .*32/);
});

test("no token, cluster secret or message body reaches the logs, even at debug level", { timeout: 60_000 }, async (t) => {
  const prev = process.env.FISHCHAT_TEST_LOG_LEVEL;
  process.env.FISHCHAT_TEST_LOG_LEVEL = "debug";
  t.after(() => {
    if (prev === undefined) delete process.env.FISHCHAT_TEST_LOG_LEVEL;
    else process.env.FISHCHAT_TEST_LOG_LEVEL = prev;
  });
  const cl = await startCluster(t, { msgServers: 2, manager: true });
  const token = await cl.token("alice");
  const alice = await cl.client("alice", { token, via: cl.msgServers[0]!.addr });
  const got: string[] = [];
  await cl.client("bob", { via: cl.msgServers[1]!.addr, setup: (c) => c.on("p2p", (m: { body: string }) => got.push(m.body)) });
  await alice.sendP2P("bob", "the-secret-body-text");
  await waitFor("delivered", () => got.length === 1);
  const bad = await RawPeer.open(cl.msgServers[0]!.addr);
  bad.write(`SEND_CLIENT_ID alice ${token}x\n`);
  await bad.waitClosed();
  await sleep(500);
  for (const s of [...cl.msgServers, cl.router!, cl.manager!]) {
    const log = s.log();
    assert.ok(log.length > 0);
    assert.ok(!log.includes(token.split(".")[2]!), `${s.name}: no token signature in the log`);
    assert.ok(!log.includes(SECRET), `${s.name}: no cluster secret in the log`);
    assert.ok(!log.includes("the-secret-body-text"), `${s.name}: no message body in the log`);
  }
  assert.match(cl.msgServers[0]!.log(), /"msg":"login refused"/, "the failed login was logged, without its token");
});
