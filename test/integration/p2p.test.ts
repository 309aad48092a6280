import test from "node:test";
import assert from "node:assert/strict";
import type { FishChatClient, P2PMessage } from "../../shared/client/client.js";
import { startCluster } from "../support/cluster.js";
import { waitFor } from "../support/ports.js";

function collect(c: FishChatClient): P2PMessage[] {
  const got: P2PMessage[] = [];
  c.on("p2p", (m: P2PMessage) => got.push(m));
  return got;
}

test("p2p: same server, across servers, and offline delivery in order", { timeout: 120_000 }, async (t) => {
  const cl = await startCluster(t, { msgServers: 2 });
  const [a, b] = cl.msgServers as [typeof cl.msgServers[0], typeof cl.msgServers[0]];

  await t.test("same server: delivered once, sender gets uuid and seq", async () => {
    const alice = await cl.client("alice", { via: a.addr });
    const bob = await cl.client("bob", { via: a.addr });
    const got = collect(bob);
    const r = await alice.sendP2P("bob", "hi there");
    assert.match(r.uuid, /^[0-9a-f-]{36}$/);
    assert.equal(r.seq, 1);
    await waitFor("bob's message", () => got.length === 1);
    assert.equal(got[0]!.body, "hi there");
    assert.equal(got[0]!.from, "alice");
    assert.equal(got[0]!.uuid, r.uuid);
    alice.close();
    bob.close();
  });

  await t.test("across servers via the router, in order, exactly once", async () => {
    const carol = await cl.client("carol", { via: a.addr });
    const dave = await cl.client("dave", { via: b.addr });
    const got = collect(dave);
    const N = 200;
    const sends = [];
    for (let i = 0; i < N; i++) sends.push(carol.sendP2P("dave", `m${i}`));
    await Promise.all(sends);
    await waitFor("all routed messages", () => got.length >= N, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(got.length, N, "no duplicates");
    assert.deepEqual(got.map((m) => m.body), Array.from({ length: N }, (_, i) => `m${i}`));
    carol.close();
    dave.close();
  });

  await t.test("offline recipient gets everything at next login, in order, once", async () => {
    const erin = await cl.client("erin", { via: a.addr });
    for (let i = 0; i < 20; i++) await erin.sendP2P("frank", `offline ${i}`);
    let got: P2PMessage[] = [];
    const frank = await cl.client("frank", { via: b.addr, autoAck: true, setup: (c) => (got = collect(c)) });
    await waitFor("offline messages", () => got.length >= 20);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(got.map((m) => m.body), Array.from({ length: 20 }, (_, i) => `offline ${i}`));
    frank.close();
    // Acknowledged: a second login gets nothing again.
    let again: P2PMessage[] = [];
    const frank2 = await cl.client("frank", { via: a.addr, setup: (c) => (again = collect(c)) });
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(again.length, 0);
    erin.close();
    frank2.close();
  });
});
