import test from "node:test";
import assert from "node:assert/strict";
import type { P2PMessage } from "../../shared/client/client.js";
import type { Command } from "../../shared/protocol/commands.js";
import { Cmd } from "../../shared/protocol/commands.js";
import { type ServiceProc, startCluster } from "../support/cluster.js";
import { waitFor } from "../support/ports.js";
import { TEST_ORIGIN, WsChatClient } from "../support/ws-client.js";

/**
 * Issue 11's "conversations people expect" and "files" across two real msg_servers (Redis control
 * bus between them, one LMDB store): a WebSocket user on one, a TCP line user on the other.
 */
test("read receipts, presence and files across two msg_servers, WebSocket and TCP", { timeout: 180_000 }, async (t) => {
  const cl = await startCluster(t, { msgServers: 2, ws: true });
  const b = cl.msgServers[1] as ServiceProc;
  const wsUrl = (i: number) => `ws://127.0.0.1:${cl.wsPorts[i]}/ws`;
  const pushes: Command[] = [];
  const messages: P2PMessage[] = [];
  const bob = await cl.client("tcp-bob", {
    via: b.addr,
    setup: (c) => {
      c.on("push", (p: Command) => pushes.push(p));
      c.on("p2p", (m: P2PMessage) => messages.push(m));
    },
  });
  const named = (name: string) => pushes.filter((p) => p.name === name);
  const open = async () => {
    const c = await WsChatClient.open(wsUrl(0), { origin: TEST_ORIGIN });
    await c.login("ws-alice", await cl.token("ws-alice"));
    return c;
  };
  let alice = await open();
  t.after(() => {
    alice.close();
    bob.close();
  });
  await alice.sendP2P("tcp-bob", "hello");

  await t.test("presence crosses servers: offline at logout, online at the next login", async () => {
    await alice.request(Cmd.LOGOUT).catch(() => undefined);
    await waitFor("offline", () => named(Cmd.PRESENCE).some((p) => p.args.join(" ") === "ws-alice offline"), 10_000);
    alice = await open();
    await waitFor("online", () => named(Cmd.PRESENCE).some((p) => p.args.join(" ") === "ws-alice online"), 10_000);
  });

  await t.test("a read receipt crosses servers to the peer", async () => {
    const receipts: Command[] = [];
    alice.on("push", (p: Command) => {
      if (p.name === Cmd.READ_RECEIPT) receipts.push(p);
    });
    const r = await bob.request({ name: Cmd.READ, args: ["p2p", "ws-alice", "1"] });
    assert.deepEqual(r.args, [Cmd.READ, "p2p", "ws-alice", "1"]);
    await waitFor("receipt", () => receipts.length === 1, 10_000);
    assert.deepEqual(receipts[0]!.args, ["p2p", "tcp-bob", "1"]);
  });

  await t.test("a file uploaded on one server, referred to in a message, downloaded from the other", async () => {
    const base = (await alice.request(Cmd.FILES_URL)).args[0]!;
    assert.equal(base, `http://127.0.0.1:${cl.wsPorts[0]}/v1/files`);
    const data = Buffer.from("%PDF-1.4\n".concat("x".repeat(5000)));
    const up = await fetch(`${base}?conv=p2p:tcp-bob&name=report.pdf`, { method: "POST", headers: { Authorization: `Bearer ${await cl.token("ws-alice")}` }, body: data });
    assert.equal(up.status, 201);
    const info = (await up.json()) as { id: string; mime: string; size: number };
    assert.deepEqual([info.mime, info.size], ["application/pdf", data.length]);
    await alice.sendP2P("tcp-bob", `fc+file:{"type":"file","id":"${info.id}"}`);
    await waitFor("the reference", () => messages.some((m) => m.body.startsWith("fc+file:")), 10_000);
    const ref = JSON.parse(messages.find((m) => m.body.startsWith("fc+file:"))!.body.slice("fc+file:".length));
    assert.deepEqual(ref, { type: "file", id: info.id, name: "report.pdf", mime: "application/pdf", size: data.length, thumbnailId: null });
    const otherBase = (await bob.request({ name: Cmd.FILES_URL, args: [] })).args[1]!;
    assert.equal(otherBase, `http://127.0.0.1:${cl.wsPorts[1]}/v1/files`);
    const got = await fetch(`${otherBase}/${info.id}`, { headers: { Authorization: `Bearer ${await cl.token("tcp-bob")}`, Range: "bytes=0-7" } });
    assert.equal(got.status, 206);
    assert.equal(Buffer.from(await got.arrayBuffer()).toString(), "%PDF-1.4");
    const stranger = await fetch(`${otherBase}/${info.id}`, { headers: { Authorization: `Bearer ${await cl.token("mallory")}` } });
    assert.equal(stranger.status, 404);
  });
});
