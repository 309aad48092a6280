import test from "node:test";
import assert from "node:assert/strict";
import type { FishChatClient, TopicMessage } from "../../shared/client/client.js";
import type { Command } from "../../shared/protocol/commands.js";
import { startCluster, statsOf } from "../support/cluster.js";
import { sleep, waitFor } from "../support/ports.js";

function inbox(c: FishChatClient): TopicMessage[] {
  const got: TopicMessage[] = [];
  c.on("topic", (m: TopicMessage) => got.push(m));
  return got;
}

async function expectErr(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: Error & { code?: string }) => e.code === code);
}

test("topics span the cluster", { timeout: 180_000 }, async (t) => {
  const cl = await startCluster(t, { msgServers: 3, conf: { msg_server: { topicBacklogMax: 5 } } });
  const [s0, s1, s2] = cl.msgServers as [typeof cl.msgServers[0], typeof cl.msgServers[0], typeof cl.msgServers[0]];

  await t.test("private topic: invitation across servers, removal stops delivery on the member's server at once", async () => {
    const owner = await cl.client("owner-p", { via: s0.addr });
    const guest = await cl.client("guest-p", { via: s1.addr });
    const got = inbox(guest);
    const pushes: Command[] = [];
    guest.on("push", (c: Command) => pushes.push(c));
    await owner.request({ name: "CREATE_TOPIC", args: ["vault", "private"] });
    await expectErr(guest.request({ name: "JOIN_TOPIC", args: ["vault", "guest-p"] }), "IM_ERR_NOT_INVITED");
    await owner.request({ name: "INVITE_TOPIC", args: ["vault", "guest-p"] });
    await guest.request({ name: "JOIN_TOPIC", args: ["vault", "guest-p"] });
    await owner.sendTopic("vault", "before removal");
    await waitFor("guest receives across servers", () => got.length === 1);
    await owner.request({ name: "REMOVE_MEMBER", args: ["vault", "guest-p"] });
    await waitFor("guest told on its own server", () => pushes.some((c) => c.name === "TOPIC_REMOVED" && c.args[0] === "vault"));
    await owner.sendTopic("vault", "after removal");
    await sleep(500);
    assert.deepEqual(got.map((m) => m.body), ["before removal"], "nothing after the removal");
    await expectErr(guest.request({ name: "HISTORY", args: ["topic", "vault"] }), "IM_ERR_NOT_MEMBER");
    owner.close();
    guest.close();
  });

  await t.test("create, names, duplicates, unknown topics, listings", async () => {
    const c = await cl.client("lister", { via: s0.addr });
    await c.request({ name: "CREATE_TOPIC", args: ["alpha"] });
    await expectErr(c.request({ name: "CREATE_TOPIC", args: ["alpha"] }), "IM_ERR_TOPIC_EXISTS");
    await expectErr(c.request({ name: "CREATE_TOPIC", args: ["bad name!"] }), "IM_ERR_BAD_TOPIC_NAME");
    await expectErr(c.request({ name: "CREATE_TOPIC", args: ["x".repeat(65)] }), "IM_ERR_BAD_TOPIC_NAME");
    await expectErr(c.request({ name: "JOIN_TOPIC", args: ["nope", "lister"] }), "IM_ERR_NO_SUCH_TOPIC");
    await expectErr(c.request({ name: "JOIN_TOPIC", args: ["alpha", "someone-else"] }), "IM_ERR_FROM_MISMATCH");
    // Another server sees the same topic: it is cluster-wide, not in one server's memory.
    const d = await cl.client("lister2", { via: s1.addr });
    await expectErr(d.request({ name: "CREATE_TOPIC", args: ["alpha"] }), "IM_ERR_TOPIC_EXISTS");
    const loc = await d.request({ name: "JOIN_TOPIC", args: ["alpha", "lister2"] });
    assert.deepEqual(loc.args, [s1.addr, "alpha"]);
    const again = await d.request({ name: "JOIN_TOPIC", args: ["alpha", "lister2"] });
    assert.deepEqual(again.args, [s1.addr, "alpha"], "joining twice is idempotent");
    assert.deepEqual((await d.request({ name: "TOPIC_MEMBERS", args: ["alpha"] })).args, ["TOPIC_MEMBERS", "alpha", "lister", "lister2"]);
    assert.deepEqual((await d.request({ name: "MY_TOPICS", args: [] })).args, ["MY_TOPICS", "alpha"]);
    assert.ok((await d.request({ name: "LIST_TOPICS", args: [] })).args.includes("alpha"));
    c.close();
    d.close();
  });

  await t.test("fan-out: every online member on three servers gets each message exactly once, in order", async () => {
    const owner = await cl.client("owner", { via: s0.addr });
    await owner.request({ name: "CREATE_TOPIC", args: ["fan"] });
    const members: FishChatClient[] = [owner];
    const servers = [s0, s1, s2];
    for (let i = 0; i < 6; i++) {
      const m = await cl.client(`fan${i}`, { via: servers[i % 3]!.addr });
      await m.request({ name: "JOIN_TOPIC", args: ["fan", `fan${i}`] });
      members.push(m);
    }
    const boxes = members.map(inbox);
    const outsider = await cl.client("outsider", { via: s2.addr });
    const outsiderBox = inbox(outsider);
    const N = 50;
    const [a, b] = [members[1]!, members[2]!];
    await Promise.all(
      Array.from({ length: N }, (_, i) => (i % 2 === 0 ? a : b).sendTopic("fan", `${i % 2 === 0 ? "a" : "b"}:${i}`)),
    );
    for (const box of boxes) await waitFor("all topic messages", () => box.length >= N, 10_000);
    await sleep(400);
    for (const [i, box] of boxes.entries()) {
      assert.equal(box.length, N, `member ${i} got each message once`);
      assert.equal(new Set(box.map((m) => m.uuid)).size, N);
      const fromA = box.filter((m) => m.from === "fan0").map((m) => m.body);
      assert.deepEqual(fromA, fromA.slice().sort((x, y) => Number(x.slice(2)) - Number(y.slice(2))), "one sender's order kept");
      assert.deepEqual(box.map((m) => m.seq), box.map((m) => m.seq).slice().sort((x, y) => x - y), "seq order");
    }
    assert.equal(outsiderBox.length, 0, "non-members get nothing");
    await expectErr(outsider.sendTopic("fan", "let me in"), "IM_ERR_NOT_MEMBER");
    for (const m of [...members, outsider]) m.close();
  });

  await t.test("targeted routing: a server with no member online gets no topic traffic", async () => {
    const before = await statsOf(s2);
    const x = await cl.client("tx", { via: s0.addr });
    const y = await cl.client("ty", { via: s1.addr });
    await x.request({ name: "CREATE_TOPIC", args: ["narrow"] });
    await y.request({ name: "JOIN_TOPIC", args: ["narrow", "ty"] });
    const got = inbox(y);
    for (let i = 0; i < 10; i++) await x.sendTopic("narrow", `n${i}`);
    await waitFor("delivered", () => got.length === 10);
    await sleep(300);
    const after = await statsOf(s2);
    assert.equal(after.topicRoutedIn, before.topicRoutedIn, "s2 has no member of 'narrow' online");
    const router = await statsOf(cl.router!);
    assert.ok((router[`topicTo:${s1.addr}`] ?? 0) >= 10);
    x.close();
    y.close();
  });

  await t.test("quit stops delivery; the topic and its history stay", async () => {
    const p = await cl.client("quitter", { via: s1.addr });
    const q = await cl.client("stayer", { via: s2.addr });
    await p.request({ name: "CREATE_TOPIC", args: ["leaving"] });
    await q.request({ name: "JOIN_TOPIC", args: ["leaving", "stayer"] });
    const pBox = inbox(p);
    await q.sendTopic("leaving", "before quit");
    await waitFor("before quit delivered", () => pBox.length === 1);
    await p.request({ name: "QUIT_TOPIC", args: ["leaving"] });
    await expectErr(p.request({ name: "QUIT_TOPIC", args: ["leaving"] }), "IM_ERR_NOT_MEMBER");
    await q.sendTopic("leaving", "after quit");
    await q.request({ name: "QUIT_TOPIC", args: ["leaving"] });
    await sleep(400);
    assert.deepEqual(pBox.map((m) => m.body), ["before quit"]);
    const h = await p.request({ name: "LIST_TOPICS", args: [] });
    assert.ok(h.args.includes("leaving"), "last member leaving does not delete the topic");
    p.close();
    q.close();
  });

  await t.test("an offline member gets what it missed at login, in order, within the backlog bound", async () => {
    const w = await cl.client("writer", { via: s0.addr });
    const r = await cl.client("reader", { via: s1.addr });
    await w.request({ name: "CREATE_TOPIC", args: ["backlog"] });
    await r.request({ name: "JOIN_TOPIC", args: ["backlog", "reader"] });
    r.close();
    await sleep(200);
    for (let i = 0; i < 3; i++) await w.sendTopic("backlog", `missed ${i}`);
    let box: TopicMessage[] = [];
    const r2 = await cl.client("reader", { via: s2.addr, setup: (c) => (box = inbox(c)) });
    await waitFor("missed messages", () => box.length >= 3);
    assert.deepEqual(box.map((m) => m.body), ["missed 0", "missed 1", "missed 2"]);
    r2.close();
    await sleep(1500); // acknowledged positions are flushed to the store every second
    // Beyond the bound (topicBacklogMax = 5): a notice with the count, then the newest 5.
    for (let i = 0; i < 8; i++) await w.sendTopic("backlog", `later ${i}`);
    const pushes: Command[] = [];
    let box3: TopicMessage[] = [];
    const r3 = await cl.client("reader", {
      via: s0.addr,
      setup: (c) => {
        c.on("push", (x: Command) => pushes.push(x));
        box3 = inbox(c);
      },
    });
    await waitFor("bounded backlog", () => box3.length >= 5);
    await sleep(300);
    assert.deepEqual(box3.map((m) => m.body), ["later 3", "later 4", "later 5", "later 6", "later 7"]);
    assert.deepEqual(pushes.find((c) => c.name === "TOPIC_GAP")?.args, ["backlog", "3"]);
    w.close();
    r3.close();
  });

  await t.test("a member joining right after its login gets no earlier history as backlog", async () => {
    const w = await cl.client("historian", { via: s0.addr });
    await w.request({ name: "CREATE_TOPIC", args: ["old-news"] });
    for (let i = 0; i < 20; i++) await w.sendTopic("old-news", `old ${i}`);
    for (let i = 0; i < 10; i++) {
      // Login and join back to back, so the join races the login's topic sync.
      const got: TopicMessage[] = [];
      const c = await cl.client(`newcomer${i}`, { via: cl.msgServers[i % 3]!.addr, setup: (x) => x.on("topic", (m: TopicMessage) => got.push(m)) });
      const joined = c.request({ name: "JOIN_TOPIC", args: ["old-news", `newcomer${i}`] });
      await joined;
      await w.sendTopic("old-news", `new ${i}`);
      await waitFor("the new message", () => got.some((m) => m.body === `new ${i}`));
      assert.deepEqual(got.filter((m) => m.body.startsWith("old")), [], `newcomer${i} got no backlog`);
      c.close();
    }
    w.close();
  });

  await t.test("membership survives a msg_server restart", async () => {
    const m = await cl.client("durable", { via: s2.addr });
    await m.request({ name: "CREATE_TOPIC", args: ["durable"] });
    m.close();
    await s2.kill("SIGKILL");
    await s2.start();
    await cl.routerReady();
    const back = await cl.client("durable", { via: s2.addr });
    assert.deepEqual((await back.request({ name: "MY_TOPICS", args: [] })).args, ["MY_TOPICS", "durable"]);
    const other = await cl.client("poster", { via: s0.addr });
    await other.request({ name: "JOIN_TOPIC", args: ["durable", "poster"] });
    const box = inbox(back);
    await other.sendTopic("durable", "after restart");
    await waitFor("delivered after restart", () => box.length === 1);
    back.close();
    other.close();
  });
});
