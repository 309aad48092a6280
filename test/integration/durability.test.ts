import test from "node:test";
import assert from "node:assert/strict";
import { startCluster, type Cluster, type ServiceProc } from "../support/cluster.js";
import { reconnecting, verify } from "../support/reconnecting.js";
import { Tracker } from "../support/tracker.js";
import { sleep, waitFor } from "../support/ports.js";
import { Cmd } from "../../shared/protocol/commands.js";
import { ErrorCode, type ImError } from "../../shared/errors.js";

/**
 * The delivery guarantee (docs/PROTOCOL.md "Delivery guarantee"): an OK to a send means the
 * message reaches its recipient at least once, whatever single process crashes right after.
 * Each test streams messages while something is killed, and checks every acknowledged message.
 */

const N = 300;

/** `tag` keeps ids apart between tests: (sender, cmid) deduplicates across the whole store. */
async function crashDuring(cl: Cluster, tag: string, victim: () => ServiceProc, restart: boolean, senderVia?: string, receiverVia?: string): Promise<void> {
  const t = new Tracker();
  const rx = await reconnecting(cl, `rx-${tag}`, t, receiverVia);
  const tx = await reconnecting(cl, `tx-${tag}`, new Tracker(), senderVia);
  const sending = t.sendAll(tx.get, `rx-${tag}`, 0, N, 2);
  await waitFor("traffic flowing", () => t.acked.size > N / 4, 20_000);
  const v = victim();
  await v.kill("SIGKILL");
  if (restart) {
    await sleep(500);
    await v.start();
  }
  await sending;
  await verify(t, N);
  rx.stop();
  tx.stop();
}

test("durability under crashes", { timeout: 300_000 }, async (t) => {
  const cl = await startCluster(t, { msgServers: 2, manager: true });
  const [a, b] = cl.msgServers as [ServiceProc, ServiceProc];

  await t.test("the sender's msg_server is SIGKILLed mid-traffic", async () => {
    await crashDuring(cl, "sender-ms", () => a, true, a.addr, b.addr);
    await cl.routerReady();
  });

  await t.test("the recipient's msg_server is SIGKILLed mid-traffic", async () => {
    await crashDuring(cl, "recipient-ms", () => b, true, a.addr, b.addr);
    await cl.routerReady();
  });

  await t.test("the router is SIGKILLed mid-traffic and restarted", async () => {
    await crashDuring(cl, "router", () => cl.router!, true, a.addr, b.addr);
    await cl.routerReady();
  });

  await t.test("the router stays down: cross-server messages still arrive (store sweep)", async () => {
    await cl.router!.kill("SIGKILL");
    const tr = new Tracker();
    const rx = await cl.client("rx2", { via: b.addr, heartbeatMs: 500, setup: (c) => tr.watch(c) });
    const tx = await cl.client("tx2", { via: a.addr, heartbeatMs: 500 });
    await tr.sendAll(() => tx, "rx2", 0, 30);
    await verify(tr, 30);
    rx.close();
    tx.close();
    await cl.router!.start();
    await cl.routerReady();
  });

  await t.test("the manager is killed and restarted later; it catches up on what it missed", async () => {
    await cl.manager!.kill("SIGKILL");
    const tr = new Tracker();
    const rx = await cl.client("rx3", { via: b.addr, heartbeatMs: 500, setup: (c) => tr.watch(c) });
    const tx = await cl.client("tx3", { via: a.addr, heartbeatMs: 500 });
    await tr.sendAll(() => tx, "rx3", 0, 50);
    await verify(tr, 50);
    const redis = cl.redis.client();
    assert.equal(await redis.get("IM:rx3session"), null, "the manager was down: v1 cache not written yet");
    await cl.manager!.start();
    // On re-subscribing, the manager receives each msg_server's current sessions and writes them.
    const v1 = await waitFor("v1 session cache written after the manager returned", () => redis.get("IM:rx3session"), 10_000);
    assert.equal(JSON.parse(v1).MsgServerAddr, b.addr);
    // ...and the client record in the store (v1's im.client_info).
    const rec = await waitFor("client record written", () => cl.store().then((s) => s.getClient("rx3")), 10_000);
    assert.equal(rec.msgServerAddr, b.addr);
    assert.equal(rec.alive, true);
    rx.close();
    tx.close();
  });

  await t.test("redis-server (AOF) is SIGKILLed and restarted; seqs keep growing", async () => {
    const tr = new Tracker();
    const rx = await cl.client("rx4", { via: b.addr, heartbeatMs: 500, setup: (c) => tr.watch(c) });
    const tx = await cl.client("tx4", { via: a.addr, heartbeatMs: 500 });
    await tr.sendAll(() => tx, "rx4", 0, 40);
    const before = await tx.sendP2P("rx4", "m40", "m40");
    tr.acked.set("m40", before.uuid);
    await cl.redis.kill();
    await sleep(300);
    // A command that needs Redis says so (retry later), not IM_ERR_INTERNAL (a bug, ERRORS.md).
    await assert.rejects(tx.request({ name: Cmd.ONLINE_USERS, args: [] }), (e: ImError) => e.code === ErrorCode.IM_ERR_UNAVAILABLE && /Redis/.test(e.message));
    await cl.redis.restart();
    await tr.sendAll(() => tx, "rx4", 41, 40);
    const after = await tx.sendP2P("rx4", "m81", "m81");
    tr.acked.set("m81", after.uuid);
    assert.equal(after.seq, before.seq + 41, "seq continues from the store, not from Redis");
    await verify(tr, 82);
    // Sessions are back in the (restarted) Redis session table.
    await waitFor("sessions re-registered", async () => (await cl.redis.client().get("fc:sess:rx4")) !== null, 15_000);
    rx.close();
    tx.close();
  });
});

test("a msg_server that dies for good: the manager marks its sessions offline", { timeout: 60_000 }, async (t) => {
  const cl = await startCluster(t, { msgServers: 2, manager: true });
  const [a] = cl.msgServers as [ServiceProc, ServiceProc];
  const c = await cl.client("stranded", { via: a.addr, heartbeatMs: 500 });
  const redis = cl.redis.client();
  await waitFor("v1 session cache written", () => redis.get("IM:strandedsession"), 10_000);
  await a.kill("SIGKILL");
  await waitFor("v1 session cache dropped after the server stayed down", async () => (await redis.get("IM:strandedsession")) === null, 15_000);
  const rec = await (await cl.store()).getClient("stranded");
  assert.equal(rec?.alive, false, "the store's client record says offline too");
  assert.equal(rec?.msgServerAddr, a.addr);
  c.close();
});

test("idempotent sends and history", { timeout: 60_000 }, async (t) => {
  const cl = await startCluster(t, { msgServers: 1, router: false });
  const alice = await cl.client("alice");
  const first = await alice.sendP2P("bob", "only once", "client-id-1");
  const retry = await alice.sendP2P("bob", "only once", "client-id-1");
  assert.deepEqual(retry, first, "a retried send returns the original uuid and seq");
  const second = await alice.sendP2P("bob", "next", "client-id-2");
  assert.equal(second.seq, first.seq + 1, "the retry stored nothing new");
  const got: string[] = [];
  const bob = await cl.client("bob", { setup: (c) => c.on("p2p", (m: { body: string }) => got.push(m.body)) });
  await waitFor("bob's inbox", () => got.length === 2);
  await sleep(200);
  assert.deepEqual(got, ["only once", "next"]);

  const items: string[][] = [];
  bob.on("push", (c: { name: string; args: string[] }) => c.name === "HISTORY_ITEM" && items.push(c.args));
  const h = await bob.request({ name: "HISTORY", args: ["p2p", "alice", "0", "10"] });
  assert.deepEqual(h.args, ["HISTORY", "2", String(second.seq)]);
  assert.deepEqual(items.map((i) => i[4]), ["only once", "next"]);
  const h2 = await bob.request({ name: "HISTORY", args: ["p2p", "alice", String(first.seq), "10"] });
  assert.equal(h2.args[1], "1", "paging with afterSeq");
  await assert.rejects(bob.request({ name: "HISTORY", args: ["topic", "nope"] }), (e: Error & { code?: string }) => e.code === "IM_ERR_NOT_MEMBER");
  await assert.rejects(bob.request({ name: "HISTORY", args: ["sideways", "x"] }), (e: Error & { code?: string }) => e.code === "IM_ERR_BAD_ARGS");
});
