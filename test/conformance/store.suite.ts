/**
 * The Store conformance suite: every rule and method of shared/store/store.ts, run unchanged
 * against each adapter (run-lmdb.test.ts, run-mongo.test.ts). Each test gets a fresh, empty store.
 * Topic, cursor and client tests: store-topics.suite.ts; read positions and the conversation
 * list: store-conversations.suite.ts; attachments: store-attachments.suite.ts.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import { ErrorCode } from "../../shared/errors.js";
import { p2pConversation } from "../../shared/protocol/conversation.js";
import { p2p, range1, rejectsWithCode, sortByUtf8, sortedNums, withStore, type StoreFactory } from "./store-helpers.js";
import { registerAttachmentTests } from "./store-attachments.suite.js";
import { registerConversationTests } from "./store-conversations.suite.js";
import { registerTopicTests } from "./store-topics.suite.js";
import { registerRetentionTests } from "./store-retention.suite.js";

export type { StoreFactory, StoreHarness } from "./store-helpers.js";

export function runStoreSuite(name: string, factory: StoreFactory): void {
  describe(`${name} store conformance`, () => {
    registerP2PTests(factory);
    registerTopicTests(factory);
    registerRetentionTests(factory);
    registerConversationTests(factory);
    registerAttachmentTests(factory);
    registerDurabilityTests(factory);
  });
}

function registerP2PTests(factory: StoreFactory): void {
  test("p2p seqs are 1,2,3 per conversation whatever the direction", () =>
    withStore(factory, async (s) => {
      const r1 = await s.appendP2P(p2p("alice", "bob", "one", { ts: 11 }));
      const r2 = await s.appendP2P(p2p("bob", "alice", "two"));
      const r3 = await s.appendP2P(p2p("alice", "bob", "three"));
      assert.deepEqual([r1.msg.seq, r2.msg.seq, r3.msg.seq], [1, 2, 3]);
      const conv = p2pConversation("alice", "bob");
      assert.equal(conv, p2pConversation("bob", "alice"));
      for (const r of [r1, r2, r3]) {
        assert.equal(r.msg.conv, conv);
        assert.equal(r.msg.kind, "p2p");
        assert.equal(r.duplicate, false);
      }
      assert.deepEqual({ ...r1.msg, uuid: "" }, { uuid: "", kind: "p2p", conv, seq: 1, from: "alice", to: "bob", body: "one", ts: 11 });
      assert.equal("cmid" in r1.msg, false, "no cmid was given, none is stored");
    }));

  test("conversations have independent seqs", () =>
    withStore(factory, async (s) => {
      assert.equal((await s.appendP2P(p2p("alice", "bob"))).msg.seq, 1);
      assert.equal((await s.appendP2P(p2p("alice", "carol"))).msg.seq, 1);
      assert.equal((await s.appendP2P(p2p("bob", "alice"))).msg.seq, 2);
      assert.equal((await s.appendP2P(p2p("carol", "dave"))).msg.seq, 1);
      assert.equal((await s.appendP2P(p2p("carol", "alice"))).msg.seq, 2);
    }));

  test("inbox positions count per recipient", async () =>
    withStore(factory, async (s) => {
      assert.equal((await s.appendP2P(p2p("alice", "bob"))).ipos, 1);
      assert.equal((await s.appendP2P(p2p("carol", "bob"))).ipos, 2, "another sender, same recipient");
      assert.equal((await s.appendP2P(p2p("bob", "alice"))).ipos, 1, "alice's inbox starts at 1");
      assert.equal((await s.appendP2P(p2p("alice", "bob"))).ipos, 3);
      const heads = await s.inboxHeads(["bob", "alice", "nobody"]);
      assert.deepEqual([...heads.entries()].sort(), [["alice", 1], ["bob", 3], ["nobody", 0]]);
      assert.equal((await s.inboxHeads([])).size, 0);
    }));

  test("inboxRange: ascending, after, limit, one recipient only", () =>
    withStore(factory, async (s) => {
      const sent = [];
      for (let i = 1; i <= 5; i++) sent.push(await s.appendP2P(p2p(i % 2 ? "alice" : "carol", "bob", `m${i}`)));
      await s.appendP2P(p2p("bob", "alice", "not for bob"));
      const all = await s.inboxRange("bob", 0, 10);
      assert.deepEqual(all.map((e) => e.ipos), [1, 2, 3, 4, 5]);
      assert.deepEqual(all.map((e) => e.msg.body), ["m1", "m2", "m3", "m4", "m5"]);
      assert.ok(all.every((e) => e.recipient === "bob"));
      assert.deepEqual(all.map((e) => e.msg), sent.map((r) => r.msg));
      assert.deepEqual((await s.inboxRange("bob", 2, 2)).map((e) => e.ipos), [3, 4]);
      assert.deepEqual(await s.inboxRange("bob", 5, 10), []);
      assert.deepEqual(await s.inboxRange("bob", 0, 0), [], "limit 0 returns nothing, not everything");
      assert.deepEqual(await s.inboxRange("nobody", 0, 10), []);
      assert.deepEqual((await s.inboxRange("alice", 0, 10)).map((e) => e.msg.body), ["not for bob"]);
    }));

  test("ackInbox removes only that entry, once", () =>
    withStore(factory, async (s) => {
      const [a, b, c] = [await s.appendP2P(p2p("alice", "bob", "a")), await s.appendP2P(p2p("alice", "bob", "b")), await s.appendP2P(p2p("alice", "bob", "c"))];
      assert.ok(a && b && c);
      assert.equal(await s.ackInbox("alice", b.msg.uuid), false, "not in alice's inbox");
      assert.equal(await s.ackInbox("bob", randomUUID()), false, "unknown uuid");
      assert.equal(await s.ackInbox("bob", b.msg.uuid), true);
      assert.equal(await s.ackInbox("bob", b.msg.uuid), false, "second ack is a no-op");
      assert.deepEqual((await s.inboxRange("bob", 0, 10)).map((e) => e.msg.uuid), [a.msg.uuid, c.msg.uuid]);
      assert.equal((await s.inboxHeads(["bob"])).get("bob"), 3, "the head never moves back");
      assert.equal((await s.history(a.msg.conv, 0, 10)).length, 3, "acked messages stay in history");
      assert.equal((await s.appendP2P(p2p("alice", "bob"))).ipos, 4, "positions are not reused");
    }));

  test("inboxPending counts unacknowledged entries", () =>
    withStore(factory, async (s) => {
      assert.equal(await s.inboxPending("bob"), 0);
      const rs = [];
      for (let i = 0; i < 3; i++) rs.push(await s.appendP2P(p2p("alice", "bob")));
      assert.equal(await s.inboxPending("bob"), 3);
      assert.equal(await s.inboxPending("alice"), 0);
      await s.ackInbox("bob", rs[0]!.msg.uuid);
      await s.ackInbox("bob", rs[0]!.msg.uuid);
      await s.ackInbox("alice", rs[1]!.msg.uuid);
      assert.equal(await s.inboxPending("bob"), 2, "repeated and misdirected acks do not count");
    }));

  test("a full inbox rejects with IM_ERR_INBOX_FULL and accepts again after an ack", () =>
    withStore(
      factory,
      async (s) => {
        const rs = [];
        for (let i = 0; i < 3; i++) rs.push(await s.appendP2P(p2p("alice", "bob", `m${i}`, { cmid: `c${i}` })));
        await rejectsWithCode(s.appendP2P(p2p("carol", "bob", "overflow", { cmid: "x" })), ErrorCode.IM_ERR_INBOX_FULL);
        assert.equal(await s.inboxPending("bob"), 3);
        assert.equal((await s.appendP2P(p2p("bob", "alice"))).duplicate, false, "other inboxes are not affected");
        const retry = await s.appendP2P(p2p("alice", "bob", "m1", { cmid: "c1" }));
        assert.equal(retry.duplicate, true, "a retry of a stored message succeeds even when full");
        assert.equal(retry.msg.uuid, rs[1]!.msg.uuid);
        assert.equal(await s.ackInbox("bob", rs[0]!.msg.uuid), true);
        const again = await s.appendP2P(p2p("carol", "bob", "overflow", { cmid: "x" }));
        assert.equal(again.duplicate, false, "the rejected message was not stored");
        assert.equal(again.ipos, 4);
        await rejectsWithCode(s.appendP2P(p2p("carol", "bob")), ErrorCode.IM_ERR_INBOX_FULL);
        assert.deepEqual((await s.history(p2pConversation("carol", "bob"), 0, 10)).map((m) => m.body), ["overflow"]);
      },
      { inboxMaxPending: 3 },
    ));

  test("dedup: the same (from, cmid) returns the original and stores nothing", () =>
    withStore(factory, async (s) => {
      const first = await s.appendP2P(p2p("alice", "bob", "hello", { cmid: "c-1" }));
      const again = await s.appendP2P(p2p("alice", "bob", "hello (retry)", { cmid: "c-1" }));
      assert.equal(again.duplicate, true);
      assert.deepEqual(again.msg, first.msg, "the original, with its uuid, seq and body");
      assert.equal(again.ipos, first.ipos);
      assert.equal(first.msg.cmid, "c-1");
      assert.equal((await s.inboxRange("bob", 0, 10)).length, 1);
      assert.equal(await s.inboxPending("bob"), 1);
      assert.equal((await s.history(first.msg.conv, 0, 10)).length, 1);
      const other = await s.appendP2P(p2p("carol", "bob", "same cmid, other sender", { cmid: "c-1" }));
      assert.equal(other.duplicate, false);
      assert.notEqual(other.msg.uuid, first.msg.uuid);
      assert.equal((await s.appendP2P(p2p("alice", "bob", "new cmid", { cmid: "c-2" }))).msg.seq, 2);
      const n1 = await s.appendP2P(p2p("alice", "bob", "no cmid"));
      const n2 = await s.appendP2P(p2p("alice", "bob", "no cmid"));
      assert.equal(n1.duplicate || n2.duplicate, false, "without cmid nothing is deduplicated");
      assert.equal((await s.inboxRange("bob", 0, 10)).length, 5);
    }));

  test("ackInbox with the inbox position, a wrong position, and without one", () =>
    withStore(factory, async (s) => {
      const a = await s.appendP2P(p2p("alice", "bob", "a"));
      const b = await s.appendP2P(p2p("alice", "bob", "b"));
      const c = await s.appendP2P(p2p("alice", "bob", "c"));
      assert.equal(await s.ackInbox("bob", b.msg.uuid, b.ipos), true, "by position");
      assert.equal(await s.ackInbox("bob", b.msg.uuid, b.ipos), false, "already acknowledged");
      assert.equal(await s.ackInbox("bob", a.msg.uuid, c.ipos), true, "a wrong position falls back to the uuid");
      assert.equal(await s.ackInbox("bob", c.msg.uuid, a.ipos), true, "position of an acknowledged entry, uuid still found");
      assert.equal(await s.ackInbox("bob", randomUUID(), c.ipos), false, "a position never acknowledges another uuid");
      assert.equal(await s.inboxPending("bob"), 0);
      assert.deepEqual(await s.inboxRange("bob", 0, 10), []);
    }));

  test("history: p2p conversation in seq order with afterSeq and limit", () =>
    withStore(factory, async (s) => {
      for (let i = 1; i <= 6; i++) await s.appendP2P(i % 2 ? p2p("alice", "bob", `m${i}`) : p2p("bob", "alice", `m${i}`));
      await s.appendP2P(p2p("alice", "carol", "elsewhere"));
      const conv = p2pConversation("bob", "alice");
      const all = await s.history(conv, 0, 100);
      assert.deepEqual(all.map((m) => m.seq), range1(6));
      assert.deepEqual(all.map((m) => m.body), ["m1", "m2", "m3", "m4", "m5", "m6"]);
      assert.deepEqual((await s.history(conv, 2, 3)).map((m) => m.seq), [3, 4, 5]);
      assert.deepEqual(await s.history(conv, 6, 10), []);
      assert.deepEqual(await s.history(conv, 0, 0), []);
      assert.deepEqual(await s.history("p2p:nobody noone", 0, 10), []);
    }));

  test("200 concurrent appendP2P calls get seqs and positions exactly 1..200", () =>
    withStore(factory, async (s) => {
      const rs = await Promise.all(
        Array.from({ length: 200 }, (_, i) => s.appendP2P(i % 2 ? p2p("alice", "bob", `m${i}`) : p2p("bob", "alice", `m${i}`))),
      );
      assert.deepEqual(sortedNums(rs.map((r) => r.msg.seq)), range1(200));
      // The msg_server pipelines a sender's messages and relies on this to keep them in order.
      assert.deepEqual(rs.map((r) => r.msg.seq), range1(200), "within one process, seqs follow call order");
      assert.deepEqual(sortedNums(rs.filter((r) => r.msg.to === "bob").map((r) => r.ipos)), range1(100));
      assert.deepEqual(sortedNums(rs.filter((r) => r.msg.to === "alice").map((r) => r.ipos)), range1(100));
      const hist = await s.history(p2pConversation("alice", "bob"), 0, 1000);
      assert.deepEqual(hist.map((m) => m.seq), range1(200));
      assert.equal(await s.inboxPending("bob"), 100);
    }));

  test("concurrent sends of one (from, cmid) store it exactly once", () =>
    withStore(factory, async (s) => {
      const rs = await Promise.all(Array.from({ length: 20 }, () => s.appendP2P(p2p("alice", "bob", "x", { cmid: "same" }))));
      assert.equal(rs.filter((r) => !r.duplicate).length, 1);
      assert.equal(new Set(rs.map((r) => r.msg.uuid)).size, 1);
      assert.equal(new Set(rs.map((r) => r.ipos)).size, 1);
      assert.equal((await s.inboxRange("bob", 0, 100)).length, 1);
      assert.equal(await s.inboxPending("bob"), 1);
    }));
}

function registerDurabilityTests(factory: StoreFactory): void {
  test("returned objects are copies: mutating them changes nothing stored", () =>
    withStore(factory, async (s) => {
      const input = p2p("alice", "bob", "original", { cmid: "c" });
      const r = await s.appendP2P(input);
      input.body = "mutated input";
      r.msg.body = "mutated result";
      (await s.inboxRange("bob", 0, 10))[0]!.msg.body = "mutated inbox";
      (await s.history(r.msg.conv, 0, 10))[0]!.body = "mutated history";
      const dup = await s.appendP2P(p2p("alice", "bob", "retry", { cmid: "c" }));
      dup.msg.body = "mutated dup";
      assert.equal((await s.inboxRange("bob", 0, 10))[0]!.msg.body, "original");
      assert.equal((await s.history(r.msg.conv, 0, 10))[0]!.body, "original");

      const t = await s.createTopic("golang", "alice", 5);
      t.memberCount = 99;
      (await s.getTopic("golang"))!.creator = "mallory";
      (await s.listTopics("", 10))[0]!.name = "renamed";
      (await s.members("golang", "", 10)).push("mallory");
      (await s.topicsOf("alice")).push("other");
      const tm = await s.appendTopic({ uuid: randomUUID(), topic: "golang", from: "alice", body: "topic original", ts: 1 });
      tm.msg.body = "mutated";
      (await s.topicRange("golang", 0, 10))[0]!.body = "mutated";
      assert.deepEqual(await s.getTopic("golang"), { name: "golang", creator: "alice", createdAt: 5, memberCount: 1, owner: "alice", policy: "public", admins: [] });
      assert.deepEqual((await s.listTopics("", 10)).map((x) => x.name), ["golang"]);
      assert.deepEqual(await s.members("golang", "", 10), ["alice"]);
      assert.deepEqual(await s.topicsOf("alice"), ["golang"]);
      assert.equal((await s.topicRange("golang", 0, 10))[0]!.body, "topic original");

      const rec = { clientId: "alice", clientAddr: "10.0.0.1:5000", msgServerAddr: "ms1", alive: true, lastSeenMs: 10 };
      await s.upsertClient(rec);
      rec.clientAddr = "mutated input";
      (await s.getClient("alice"))!.alive = false;
      assert.deepEqual(await s.getClient("alice"), { clientId: "alice", clientAddr: "10.0.0.1:5000", msgServerAddr: "ms1", alive: true, lastSeenMs: 10 });
    }));

  test("reopening keeps everything and seqs keep growing", () =>
    withStore(factory, async (s, h) => {
      const a = await s.appendP2P(p2p("alice", "bob", "before", { cmid: "c1" }));
      await s.appendP2P(p2p("bob", "alice", "reply"));
      const acked = await s.appendP2P(p2p("carol", "bob", "acked"));
      await s.ackInbox("bob", acked.msg.uuid);
      await s.createTopic("golang", "alice", 7);
      await s.addMember("golang", "bob");
      await s.appendTopic({ uuid: randomUUID(), topic: "golang", from: "alice", body: "t1", ts: 1, cmid: "tc" });
      await s.setCursors([{ clientId: "bob", topic: "golang", seq: 1 }]);
      await s.upsertClient({ clientId: "bob", clientAddr: "1.2.3.4:5", msgServerAddr: "ms1", alive: true, lastSeenMs: 42 });
      await s.close();
      await s.close(); // close is idempotent

      const r = await h.reopen();
      assert.deepEqual((await r.history(a.msg.conv, 0, 10)).map((m) => m.body), ["before", "reply"]);
      assert.deepEqual((await r.inboxRange("bob", 0, 10)).map((e) => [e.ipos, e.msg.body]), [[1, "before"]]);
      assert.equal(await r.inboxPending("bob"), 1);
      assert.equal((await r.inboxHeads(["bob"])).get("bob"), 2);
      assert.deepEqual(await r.getTopic("golang"), { name: "golang", creator: "alice", createdAt: 7, memberCount: 2, owner: "alice", policy: "public", admins: [] });
      assert.equal(await r.isMember("golang", "bob"), true);
      assert.equal(await r.getCursor("bob", "golang"), 1);
      assert.equal((await r.getClient("bob"))?.lastSeenMs, 42);

      const dup = await r.appendP2P(p2p("alice", "bob", "before", { cmid: "c1" }));
      assert.equal(dup.duplicate, true, "dedup survives a restart");
      assert.equal(dup.msg.uuid, a.msg.uuid);
      const next = await r.appendP2P(p2p("alice", "bob", "after"));
      assert.equal(next.msg.seq, 3, "conversation seq continues, never regresses");
      assert.equal(next.ipos, 3, "inbox position continues past the acked entry");
      const t2 = await r.appendTopic({ uuid: randomUUID(), topic: "golang", from: "bob", body: "t2", ts: 2 });
      assert.equal(t2.msg.seq, 2);
      assert.equal((await r.topicHeads(["golang"])).get("golang"), 2);
    }));

  test("unicode bodies and ids round-trip", () =>
    withStore(factory, async (s) => {
      const body = "héllo 世界 🐟🎉 مرحبا \u0000 end";
      const [from, to] = ["用户甲", "émile🙂"];
      const r = await s.appendP2P(p2p(from, to, body, { cmid: "ключ-1" }));
      assert.equal(r.msg.conv, p2pConversation(from, to));
      const [e] = await s.inboxRange(to, 0, 10);
      assert.equal(e?.msg.body, body);
      assert.equal(e?.msg.from, from);
      assert.equal((await s.appendP2P(p2p(from, to, "x", { cmid: "ключ-1" }))).duplicate, true);
      assert.equal(await s.ackInbox(to, r.msg.uuid), true);
      await s.createTopic("话题", from, 1);
      await s.addMember("话题", to);
      assert.deepEqual(await s.members("话题", "", 10), sortByUtf8([from, to]));
      const tm = await s.appendTopic({ uuid: randomUUID(), topic: "话题", from: to, body, ts: 1 });
      assert.equal((await s.topicRange("话题", 0, 10))[0]?.body, body);
      assert.equal(tm.msg.conv, "话题");
      assert.deepEqual(await s.topicsOf(to), ["话题"]);
    }));
}
