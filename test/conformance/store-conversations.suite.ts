/**
 * Conformance tests for read positions, unread counts and the conversation list
 * (shared/store/conversations.ts). Registered by runStoreSuite (store.suite.ts).
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { ErrorCode } from "../../shared/errors.js";
import { p2pConversation } from "../../shared/protocol/conversation.js";
import type { ConversationSummary, NewTopicMessage, Store } from "../../shared/store/store.js";
import { p2p, rejectsWithCode, withStore, type StoreFactory } from "./store-helpers.js";

function tmsg(topic: string, from: string, body: string, ts: number): NewTopicMessage {
  return { uuid: randomUUID(), topic, from, body, ts };
}

/** The whole list, paged `pageSize` at a time with the cursor of each page's last entry. */
async function allPages(s: Store, clientId: string, pageSize: number): Promise<ConversationSummary[][]> {
  const pages: ConversationSummary[][] = [];
  let before: { activity: number; conv: string } | undefined;
  for (;;) {
    const page = await s.conversations(clientId, pageSize, before);
    if (page.length === 0) return pages;
    pages.push(page);
    const last = page.at(-1);
    if (!last) return pages;
    before = { activity: last.activity, conv: last.conv };
    assert.ok(pages.length < 100, "paging must end");
  }
}

function entry(list: readonly ConversationSummary[], conv: string): ConversationSummary {
  const e = list.find((c) => c.conv === conv);
  assert.ok(e, `no entry for ${conv} in ${list.map((c) => c.conv).join(", ")}`);
  return e;
}

export function registerConversationTests(factory: StoreFactory): void {
  test("read positions only move forward and never pass the head", () =>
    withStore(factory, async (s) => {
      const conv = p2pConversation("alice", "bob");
      for (let i = 0; i < 3; i++) await s.appendP2P(p2p("alice", "bob", `m${i}`));
      assert.deepEqual(await s.setReadPosition("bob", conv, 2), { read: 2, changed: true });
      assert.deepEqual(await s.setReadPosition("bob", conv, 1), { read: 2, changed: false }, "never back");
      assert.deepEqual(await s.setReadPosition("bob", conv, 2), { read: 2, changed: false });
      assert.deepEqual(await s.setReadPosition("bob", conv, 99), { read: 3, changed: true }, "clamped to the head");
      assert.deepEqual(await s.setReadPosition("bob", conv, 3), { read: 3, changed: false });
      const reads = await s.readPositions("bob", [conv, p2pConversation("bob", "carol"), "golang"]);
      assert.deepEqual([...reads.entries()], [[conv, 3], [p2pConversation("bob", "carol"), 0], ["golang", 0]]);
      assert.equal((await s.readPositions("alice", [conv])).get(conv), 3, "the sender has read up to its own message");
      assert.equal((await s.readPositions("bob", [])).size, 0);

      assert.deepEqual(await s.setReadPosition("alice", p2pConversation("alice", "zed"), 5), { read: 0, changed: false }, "no messages: head 0");
      await rejectsWithCode(s.setReadPosition("carol", conv, 1), ErrorCode.IM_ERR_BAD_ARGS);
      await rejectsWithCode(s.setReadPosition("bob", conv, Number.NaN), ErrorCode.IM_ERR_BAD_ARGS);
      await s.createTopic("golang", "alice", 1);
      assert.deepEqual(await s.setReadPosition("alice", "golang", 5), { read: 0, changed: false });
      await s.appendTopic(tmsg("golang", "alice", "t1", 2));
      await s.addMember("golang", "bob");
      await s.appendTopic(tmsg("golang", "alice", "t2", 3));
      assert.deepEqual(await s.setReadPosition("bob", "golang", 10), { read: 2, changed: true });
    }));

  test("unread counts in p2p and topics; own messages are never unread", () =>
    withStore(factory, async (s) => {
      const ab = p2pConversation("alice", "bob");
      await s.appendP2P(p2p("alice", "bob", "a1", { ts: 10 }));
      await s.appendP2P(p2p("alice", "bob", "a2", { ts: 11 }));
      let bob = entry(await s.conversations("bob", 10), ab);
      assert.deepEqual({ ...bob, last: bob.last?.body }, { kind: "p2p", conv: ab, target: "alice", head: 2, last: "a2", activity: 11, read: 0, unread: 2, peerRead: 2 });
      let alice = entry(await s.conversations("alice", 10), ab);
      assert.deepEqual([alice.target, alice.read, alice.unread, alice.peerRead], ["bob", 2, 0, 0]);

      await s.setReadPosition("bob", ab, 1);
      assert.equal(entry(await s.conversations("bob", 10), ab).unread, 1);
      await s.appendP2P(p2p("bob", "alice", "b1", { ts: 12 }));
      bob = entry(await s.conversations("bob", 10), ab);
      assert.deepEqual([bob.head, bob.read, bob.unread], [3, 3, 0], "replying reads the conversation");
      alice = entry(await s.conversations("alice", 10), ab);
      assert.deepEqual([alice.head, alice.read, alice.unread, alice.peerRead], [3, 2, 1, 3]);

      await s.createTopic("golang", "alice", 5);
      await s.addMember("golang", "bob");
      await s.appendTopic(tmsg("golang", "alice", "t1", 20));
      await s.appendTopic(tmsg("golang", "alice", "t2", 21));
      await s.addMember("golang", "carol");
      const unread = async (who: string) => entry(await s.conversations(who, 10), "golang").unread;
      assert.deepEqual([await unread("alice"), await unread("bob"), await unread("carol")], [0, 2, 0], "a new member starts with history read");
      await s.appendTopic(tmsg("golang", "bob", "t3", 22));
      assert.deepEqual([await unread("alice"), await unread("bob"), await unread("carol")], [1, 0, 1]);
      const g = entry(await s.conversations("carol", 10), "golang");
      assert.deepEqual({ ...g, last: g.last?.body }, { kind: "topic", conv: "golang", target: "golang", head: 3, last: "t3", activity: 22, read: 2, unread: 1, peerRead: null });
      await s.setReadPosition("carol", "golang", 3);
      assert.equal(await unread("carol"), 0);

      await s.removeMember("golang", "carol");
      assert.deepEqual((await s.conversations("carol", 10)).map((c) => c.conv), [], "a former member no longer lists the topic");
      await s.addMember("golang", "carol");
      assert.equal(await unread("carol"), 0, "rejoining does not bring back old messages");
    }));

  test("the conversation list: newest first, topics interleaved, paging with before", () =>
    withStore(factory, async (s) => {
      await s.appendP2P(p2p("alice", "bob", "to bob", { ts: 100 }));
      await s.createTopic("t1", "alice", 150); // no messages: ordered by its creation
      await s.appendP2P(p2p("carol", "alice", "from carol", { ts: 200 }));
      await s.createTopic("t2", "zed", 50);
      await s.addMember("t2", "alice");
      await s.appendTopic(tmsg("t2", "zed", "in t2", 250));
      await s.appendP2P(p2p("alice", "dave", "to dave", { ts: 300 }));
      await s.appendP2P(p2p("erin", "frank", "not alice's", { ts: 999 }));

      const expected = [p2pConversation("alice", "dave"), "t2", p2pConversation("alice", "carol"), "t1", p2pConversation("alice", "bob")];
      const all = await s.conversations("alice", 100);
      assert.deepEqual(all.map((c) => c.conv), expected);
      assert.deepEqual(all.map((c) => c.activity), [300, 250, 200, 150, 100]);
      assert.deepEqual(all.map((c) => c.last?.body ?? null), ["to dave", "in t2", "from carol", null, "to bob"]);
      assert.deepEqual(all.map((c) => c.target), ["dave", "t2", "carol", "t1", "bob"]);
      assert.deepEqual((await allPages(s, "alice", 2)).map((p) => p.map((c) => c.conv)), [expected.slice(0, 2), expected.slice(2, 4), expected.slice(4)]);
      assert.deepEqual(await s.conversations("alice", 0), [], "limit 0 is nothing, not everything");
      assert.deepEqual(await s.conversations("nobody", 10), []);
      await rejectsWithCode(s.conversations("alice", 10, { activity: Number.NaN, conv: "x" }), ErrorCode.IM_ERR_BAD_ARGS);

      // A new message moves its conversation to the top, once.
      await s.appendP2P(p2p("bob", "alice", "back", { ts: 400 }));
      const moved = await s.conversations("alice", 100);
      assert.deepEqual(moved.map((c) => c.conv), [expected[4], ...expected.slice(0, 4)]);
      assert.deepEqual((await s.conversations("bob", 10)).map((c) => [c.conv, c.activity, c.head]), [[expected[4], 400, 2]]);

      // Equal activity: ordered by conversation id, descending; paging one at a time loses none.
      await s.appendP2P(p2p("alice", "gina", "tie", { ts: 500 }));
      await s.appendP2P(p2p("hank", "alice", "tie", { ts: 500 }));
      await s.appendTopic(tmsg("t1", "alice", "tie", 500));
      const ties = [p2pConversation("alice", "hank"), p2pConversation("alice", "gina"), "t1"].sort().reverse();
      const pages = await allPages(s, "alice", 1);
      assert.deepEqual(pages.flat().map((c) => c.conv).slice(0, 3), ties);
      assert.equal(pages.length, 7);
      assert.equal(new Set(pages.flat().map((c) => c.conv)).size, 7, "no entry twice");
    }));

  test("a conversation with oneself, and a topic of 1000 members posted to once", () =>
    withStore(factory, async (s) => {
      const self = p2pConversation("alice", "alice");
      await s.appendP2P(p2p("alice", "alice", "note to self", { ts: 5 }));
      const [e] = await s.conversations("alice", 10);
      assert.deepEqual([e?.conv, e?.target, e?.head, e?.read, e?.unread, e?.peerRead], [self, "alice", 1, 1, 0, 1]);

      await s.createTopic("big", "m0000", 1);
      const ids = Array.from({ length: 1000 }, (_, i) => `m${String(i).padStart(4, "0")}`);
      await Promise.all(ids.slice(1).map((id) => s.addMember("big", id)));
      await s.appendTopic(tmsg("big", "m0000", "hello all", 10));
      for (const id of [ids[1], ids[500], ids[999]] as string[]) {
        assert.deepEqual((await s.conversations(id, 10)).map((c) => [c.conv, c.head, c.unread]), [["big", 1, 1]]);
      }
      assert.equal(entry(await s.conversations("m0000", 10), "big").unread, 0);
    }));

  test("concurrent appends and READs keep one entry per conversation and consistent counts", () =>
    withStore(factory, async (s) => {
      const conv = p2pConversation("alice", "bob");
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 200; i++) {
        ops.push(s.appendP2P(i % 3 ? p2p("alice", "bob", `m${i}`, { ts: 1000 + i }) : p2p("bob", "alice", `m${i}`, { ts: 1000 + i })));
        if (i % 10 === 0) ops.push(s.setReadPosition("bob", conv, i));
      }
      await Promise.all(ops);
      const [bob] = await s.conversations("bob", 10);
      assert.ok(bob);
      assert.equal((await s.conversations("bob", 10)).length, 1);
      assert.deepEqual([bob.head, bob.activity, bob.last?.body], [200, 1199, "m199"]);
      assert.equal(bob.read, 199, "bob's last own message is seq 199 (m198)");
      assert.equal(bob.unread, 1);
      const [alice] = await s.conversations("alice", 10);
      assert.deepEqual([alice?.read, alice?.unread, alice?.peerRead], [200, 0, 199]);
    }));

  test("read positions and the list survive a reopen; a duplicate send changes nothing", () =>
    withStore(factory, async (s, h) => {
      const conv = p2pConversation("alice", "bob");
      await s.appendP2P(p2p("alice", "bob", "one", { ts: 1, cmid: "c1" }));
      await s.appendP2P(p2p("alice", "bob", "two", { ts: 2 }));
      await s.setReadPosition("bob", conv, 1);
      const dup = await s.appendP2P(p2p("alice", "bob", "one again", { ts: 3, cmid: "c1" }));
      assert.equal(dup.duplicate, true);
      const before = await s.conversations("bob", 10);
      assert.deepEqual(before.map((c) => [c.activity, c.head, c.read, c.unread]), [[2, 2, 1, 1]]);
      await s.close();
      const r = await h.reopen();
      assert.deepEqual(await r.conversations("bob", 10), before);
      assert.equal((await r.readPositions("bob", [conv])).get(conv), 1);
      assert.deepEqual(await r.setReadPosition("bob", conv, 1), { read: 1, changed: false });
    }));
}
