import test from "node:test";
import assert from "node:assert/strict";
import { FishChatClient, requestMsgServer, type P2PMessage } from "../../shared/client/client.js";
import type { Command } from "../../shared/protocol/commands.js";
import { startCluster, statsOf } from "../support/cluster.js";
import { RawPeer } from "../support/raw.js";
import { sleep, waitFor } from "../support/ports.js";

test("sessions: gateway placement, duplicate login, idle timeout", { timeout: 120_000 }, async (t) => {
  const cl = await startCluster(t, { msgServers: 2, conf: { msg_server: { idleTimeoutMs: 1500 } } });
  const redis = cl.redis.client();

  await t.test("the gateway spreads logins over the live msg_servers and closes", async () => {
    const addrs = new Set<string>();
    const clients: FishChatClient[] = [];
    for (let i = 0; i < 6; i++) {
      const addr = await requestMsgServer(cl.gateway!.addr);
      addrs.add(addr);
      const c = new FishChatClient({ heartbeatMs: 300 });
      await c.connect(addr);
      await c.login(`spread${i}`, await cl.token(`spread${i}`));
      clients.push(c);
    }
    assert.deepEqual([...addrs].sort(), cl.msgServers.map((m) => m.addr).sort(), "both servers used");
    const p = await RawPeer.open(cl.gateway!.addr);
    p.write("REQ_MSG_SERVER\n");
    const r = await p.next((c) => c.name === "SELECT_MSG_SERVER_FOR_CLIENT");
    assert.ok(cl.msgServers.some((m) => m.addr === r.args[0]));
    await p.waitClosed();
    for (const c of clients) c.close();
  });

  await t.test("the session table in Redis follows login and logout", async () => {
    const ms = cl.msgServers[0]!;
    const c = await cl.client("tracked", { via: ms.addr, heartbeatMs: 300 });
    assert.match((await redis.get("fc:sess:tracked")) ?? "", new RegExp(`^${ms.addr}\\|c-`));
    c.close();
    await waitFor("session removed on disconnect", async () => (await redis.get("fc:sess:tracked")) === null);
  });

  await t.test("a second login closes the first, even on another server", async () => {
    const [a, b] = cl.msgServers as [typeof cl.msgServers[0], typeof cl.msgServers[0]];
    const first = await cl.client("dup", { via: a.addr, heartbeatMs: 300 });
    const pushes: Command[] = [];
    first.on("push", (c: Command) => pushes.push(c));
    const second = await cl.client("dup", { via: b.addr, heartbeatMs: 300 });
    await waitFor("first connection closed", () => first.closed);
    assert.ok(pushes.some((c) => c.name === "KICKED"), "told why");
    assert.ok(pushes.some((c) => c.name === "ERR" && c.args[0] === "IM_ERR_KICKED"));
    // Messages now reach the second login only.
    const got: P2PMessage[] = [];
    second.on("p2p", (m: P2PMessage) => got.push(m));
    const sender = await cl.client("dup-sender", { via: a.addr, heartbeatMs: 300 });
    await sender.sendP2P("dup", "to the new session");
    await waitFor("delivered to the second login", () => got.length === 1);
    assert.match((await redis.get("fc:sess:dup")) ?? "", new RegExp(`^${b.addr}\\|`));
    second.close();
    sender.close();
  });

  await t.test("an idle connection is closed and unregistered; pings keep one alive", async () => {
    const idle = await cl.client("sleepy", { heartbeatMs: 0 });
    const awake = await cl.client("awake", { heartbeatMs: 400 });
    const pushes: Command[] = [];
    idle.on("push", (c: Command) => pushes.push(c));
    await waitFor("idle connection closed", () => idle.closed, 6000);
    assert.ok(pushes.some((c) => c.name === "ERR" && c.args[0] === "IM_ERR_IDLE_TIMEOUT"));
    await waitFor("idle session unregistered", async () => (await redis.get("fc:sess:sleepy")) === null);
    assert.equal(awake.closed, false);
    awake.close();
  });
});

test("failover: a msg_server killed with SIGKILL", { timeout: 120_000 }, async (t) => {
  const cl = await startCluster(t, { msgServers: 2 });
  const [a, b] = cl.msgServers as [typeof cl.msgServers[0], typeof cl.msgServers[0]];
  const victim = await cl.client("victim", { via: a.addr, heartbeatMs: 500 });
  const peer = await cl.client("peer", { via: b.addr, heartbeatMs: 500 });
  await peer.sendP2P("victim", "before the crash");
  await sleep(300);

  await a.kill("SIGKILL");
  await waitFor("victim disconnected", () => victim.closed);
  // The gateway must stop handing out the dead server once its heartbeat key expires.
  await waitFor("gateway sees one live server", async () => (await statsOf(cl.gateway!)).liveMsgServers === 1, 10_000);
  for (let i = 0; i < 5; i++) assert.equal(await requestMsgServer(cl.gateway!.addr), b.addr);

  // Sent while the victim is away: stored, delivered at its next login.
  const r = await peer.sendP2P("victim", "while you were away");
  assert.ok(r.seq > 0);
  const got: P2PMessage[] = [];
  const again = await cl.client("victim", { heartbeatMs: 500, setup: (c) => c.on("p2p", (m: P2PMessage) => got.push(m)) });
  await waitFor("missed message delivered after re-login", () => got.some((m) => m.body === "while you were away"));

  // The server comes back; the router reconnects and routes to it again.
  await a.start();
  await cl.routerReady();
  const back = await cl.client("returning", { via: a.addr, heartbeatMs: 500 });
  const got2: P2PMessage[] = [];
  back.on("p2p", (m: P2PMessage) => got2.push(m));
  await peer.sendP2P("returning", "routed to the restarted server");
  await waitFor("routed after restart", () => got2.length === 1);
  assert.equal(got2[0]!.body, "routed to the restarted server");
  for (const c of [again, back, peer]) c.close();
});

test("no live msg_server: the gateway says so and closes", { timeout: 60_000 }, async (t) => {
  const cl = await startCluster(t, { msgServers: 1, router: false });
  await cl.msgServers[0]!.kill("SIGKILL");
  await waitFor("gateway sees no server", async () => (await statsOf(cl.gateway!)).liveMsgServers === 0, 10_000);
  const p = await RawPeer.open(cl.gateway!.addr);
  p.write("REQ_MSG_SERVER\n");
  const r = await p.next((c) => c.name === "ERR");
  assert.equal(r.args[0], "IM_ERR_NO_MSG_SERVER");
  await p.waitClosed();
});
