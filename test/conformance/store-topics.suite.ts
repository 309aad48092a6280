/**
 * Conformance tests for topics, membership, topic messages, cursors and client records.
 * Registered by runStoreSuite (store.suite.ts); not a test file of its own.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { ErrorCode } from "../../shared/errors.js";
import type { NewTopicMessage } from "../../shared/store/store.js";
import { range1, rejectsWithCode, sortByUtf8, sortedNums, withStore, type StoreFactory } from "./store-helpers.js";

function tmsg(topic: string, from: string, body = "hi", extra: Partial<NewTopicMessage> = {}): NewTopicMessage {
  return { uuid: randomUUID(), topic, from, body, ts: 1_700_000_000_000, ...extra };
}

export function registerTopicTests(factory: StoreFactory): void {
  test("createTopic, IM_ERR_TOPIC_EXISTS, getTopic", () =>
    withStore(factory, async (s) => {
      const rec = { name: "golang", creator: "alice", createdAt: 123, memberCount: 1, owner: "alice", policy: "public", admins: [] };
      assert.deepEqual(await s.createTopic("golang", "alice", 123), rec);
      await rejectsWithCode(s.createTopic("golang", "bob", 456), ErrorCode.IM_ERR_TOPIC_EXISTS);
      assert.deepEqual(await s.getTopic("golang"), rec);
      assert.equal(await s.getTopic("rust"), null);
      assert.equal(await s.isMember("golang", "alice"), true, "the creator is the first member");
      assert.equal(await s.isMember("golang", "bob"), false, "the failed create added nobody");
    }));

  test("owners, policy and admins: set at creation, changed by updateTopic", () =>
    withStore(factory, async (s) => {
      const t = await s.createTopic("secret", "alice", 1, { policy: "private" });
      assert.deepEqual([t.owner, t.policy, t.admins], ["alice", "private", []]);
      const u = await s.updateTopic("secret", { admins: ["bob", "bob", "carol"] });
      assert.deepEqual(u.admins, ["bob", "carol"], "deduplicated");
      assert.equal(u.policy, "private", "fields not given stay");
      const v = await s.updateTopic("secret", { owner: "dave", policy: "public" });
      assert.deepEqual([v.owner, v.policy, v.admins], ["dave", "public", ["bob", "carol"]]);
      assert.deepEqual(await s.getTopic("secret"), v);
      assert.ok((await s.listTopics("", 10)).some((x) => x.name === "secret" && x.owner === "dave"));
      await rejectsWithCode(s.updateTopic("nope", { policy: "private" }), ErrorCode.IM_ERR_NO_SUCH_TOPIC);
    }));

  test("topics per owner are bounded, counting handed-over ones", () =>
    withStore(factory, async (s) => {
      await s.createTopic("a1", "alice", 1, { maxOwned: 2 });
      await s.createTopic("a2", "alice", 1, { maxOwned: 2 });
      await rejectsWithCode(s.createTopic("a3", "alice", 1, { maxOwned: 2 }), ErrorCode.IM_ERR_TOO_MANY_TOPICS);
      assert.equal(await s.getTopic("a3"), null);
      await s.updateTopic("a1", { owner: "bob" });
      await s.createTopic("a3", "alice", 1, { maxOwned: 2 });
      await rejectsWithCode(s.createTopic("b9", "bob", 1, { maxOwned: 1 }), ErrorCode.IM_ERR_TOO_MANY_TOPICS);
      assert.ok(await s.deleteTopic("a2"));
      await s.createTopic("a4", "alice", 1, { maxOwned: 2 });
    }));

  test("invitations: recorded once, consumed by the join; members per topic bounded", () =>
    withStore(factory, async (s) => {
      await s.createTopic("club", "alice", 1, { policy: "private" });
      assert.equal(await s.invite("club", "bob"), true);
      assert.equal(await s.invite("club", "bob"), false, "already invited");
      assert.equal(await s.invite("club", "alice"), false, "already a member");
      assert.equal(await s.isInvited("club", "bob"), true);
      assert.equal(await s.isInvited("club", "carol"), false);
      await rejectsWithCode(s.invite("nope", "bob"), ErrorCode.IM_ERR_NO_SUCH_TOPIC);
      assert.equal(await s.addMember("club", "bob", { maxMembers: 2 }), true);
      assert.equal(await s.isInvited("club", "bob"), false, "the join consumed it");
      await rejectsWithCode(s.addMember("club", "carol", { maxMembers: 2 }), ErrorCode.IM_ERR_TOPIC_FULL);
      assert.equal(await s.addMember("club", "bob", { maxMembers: 2 }), false, "a member joining again is not refused as full");
      assert.equal(await s.isMember("club", "carol"), false);
    }));

  test("deleteTopic removes membership, invitations and messages; a topic made again continues its seqs", () =>
    withStore(factory, async (s) => {
      await s.createTopic("tmp", "alice", 1);
      await s.addMember("tmp", "bob");
      await s.invite("tmp", "carol");
      const first = await s.appendTopic(tmsg("tmp", "alice", "one"));
      assert.equal(await s.deleteTopic("tmp"), true);
      assert.equal(await s.deleteTopic("tmp"), false);
      assert.equal(await s.getTopic("tmp"), null);
      assert.equal(await s.isMember("tmp", "bob"), false);
      assert.deepEqual(await s.topicsOf("bob"), []);
      assert.equal(await s.isInvited("tmp", "carol"), false);
      assert.deepEqual(await s.topicRange("tmp", 0, 10), []);
      await s.createTopic("tmp", "dave", 2);
      const again = await s.appendTopic(tmsg("tmp", "dave", "two"));
      assert.ok(again.msg.seq > first.msg.seq, "seqs are never reused");
    }));

  test("listTopics: ordered by name, paged by after and limit", () =>
    withStore(factory, async (s) => {
      const names = ["rust", "go", "zig", "c", "ada", "haskell"];
      for (const n of names) await s.createTopic(n, "alice", 1);
      const sorted = sortByUtf8(names);
      assert.deepEqual((await s.listTopics("", 100)).map((t) => t.name), sorted);
      const page1 = await s.listTopics("", 4);
      const page2 = await s.listTopics(page1.at(-1)!.name, 4);
      assert.deepEqual([...page1, ...page2].map((t) => t.name), sorted);
      assert.equal(page2.length, 2);
      assert.deepEqual((await s.listTopics("go", 2)).map((t) => t.name), ["haskell", "rust"], "strictly after");
      assert.deepEqual(await s.listTopics("zig", 10), []);
      assert.deepEqual(await s.listTopics("", 0), []);
      assert.ok((await s.listTopics("", 10)).every((t) => t.creator === "alice" && t.memberCount === 1));
    }));

  test("members: add is idempotent, remove, isMember, paging, topicsOf", () =>
    withStore(factory, async (s) => {
      await s.createTopic("golang", "alice", 1);
      await s.createTopic("rust", "bob", 1);
      assert.equal(await s.addMember("golang", "carol"), true);
      assert.equal(await s.addMember("golang", "carol"), false, "already a member");
      assert.equal(await s.addMember("golang", "bob"), true);
      await rejectsWithCode(s.addMember("nope", "carol"), ErrorCode.IM_ERR_NO_SUCH_TOPIC);
      assert.equal((await s.getTopic("golang"))?.memberCount, 3);
      assert.deepEqual(await s.members("golang", "", 10), ["alice", "bob", "carol"]);
      assert.deepEqual(await s.members("golang", "", 2), ["alice", "bob"]);
      assert.deepEqual(await s.members("golang", "bob", 10), ["carol"], "ids strictly after");
      assert.deepEqual(await s.members("golang", "", 0), []);
      assert.deepEqual(await s.members("nope", "", 10), []);
      assert.deepEqual(await s.topicsOf("bob"), ["golang", "rust"]);
      assert.deepEqual(await s.topicsOf("nobody"), []);

      assert.equal(await s.removeMember("golang", "bob"), true);
      assert.equal(await s.removeMember("golang", "bob"), false, "not a member any more");
      assert.equal(await s.removeMember("nope", "bob"), false);
      assert.equal(await s.isMember("golang", "bob"), false);
      assert.deepEqual(await s.topicsOf("bob"), ["rust"]);
      assert.equal((await s.getTopic("golang"))?.memberCount, 2);

      await s.appendTopic(tmsg("golang", "alice", "kept"));
      assert.equal(await s.removeMember("golang", "alice"), true, "the creator may leave");
      assert.equal(await s.removeMember("golang", "carol"), true);
      assert.deepEqual(await s.getTopic("golang"), { name: "golang", creator: "alice", createdAt: 1, memberCount: 0, owner: "alice", policy: "public", admins: [] });
      assert.deepEqual((await s.history("golang", 0, 10)).map((m) => m.body), ["kept"], "the topic and its history stay");
      assert.equal(await s.addMember("golang", "bob"), true, "and can be joined again");
    }));

  test("appendTopic: seq per topic, dedup, unknown topic", () =>
    withStore(factory, async (s) => {
      await s.createTopic("golang", "alice", 1);
      await s.createTopic("rust", "alice", 1);
      const g1 = await s.appendTopic(tmsg("golang", "alice", "g1", { cmid: "k" }));
      const g2 = await s.appendTopic(tmsg("golang", "bob", "g2"));
      const r1 = await s.appendTopic(tmsg("rust", "alice", "r1"));
      assert.deepEqual([g1.msg.seq, g2.msg.seq, r1.msg.seq], [1, 2, 1]);
      assert.deepEqual({ ...g1.msg, uuid: "", ts: 0 }, { uuid: "", kind: "topic", conv: "golang", seq: 1, from: "alice", to: "golang", body: "g1", ts: 0, cmid: "k" });
      const dup = await s.appendTopic(tmsg("golang", "alice", "g1 again", { cmid: "k" }));
      assert.equal(dup.duplicate, true);
      assert.deepEqual(dup.msg, g1.msg);
      assert.equal((await s.appendTopic(tmsg("golang", "bob", "same cmid other sender", { cmid: "k" }))).duplicate, false);
      assert.deepEqual((await s.topicRange("golang", 0, 10)).map((m) => m.body), ["g1", "g2", "same cmid other sender"]);
      await rejectsWithCode(s.appendTopic(tmsg("nope", "alice")), ErrorCode.IM_ERR_NO_SUCH_TOPIC);
    }));

  test("topicRange, topicHeads and topic history with afterSeq and limit", () =>
    withStore(factory, async (s) => {
      await s.createTopic("golang", "alice", 1);
      for (let i = 1; i <= 5; i++) await s.appendTopic(tmsg("golang", "alice", `t${i}`));
      assert.deepEqual((await s.topicRange("golang", 0, 10)).map((m) => m.seq), range1(5));
      assert.deepEqual((await s.topicRange("golang", 1, 2)).map((m) => m.body), ["t2", "t3"]);
      assert.deepEqual(await s.topicRange("golang", 5, 10), []);
      assert.deepEqual(await s.topicRange("golang", 0, 0), []);
      assert.deepEqual(await s.topicRange("nope", 0, 10), []);
      assert.deepEqual((await s.history("golang", 3, 10)).map((m) => m.body), ["t4", "t5"]);
      assert.ok((await s.history("golang", 0, 10)).every((m) => m.kind === "topic" && m.conv === "golang"));
      const heads = await s.topicHeads(["golang", "nope"]);
      assert.deepEqual([...heads.entries()].sort(), [["golang", 5], ["nope", 0]]);
    }));

  test("100 concurrent appendTopic calls get seqs exactly 1..100; concurrent joins count once", () =>
    withStore(factory, async (s) => {
      await s.createTopic("golang", "alice", 1);
      const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => s.appendTopic(tmsg("golang", `u${i % 7}`, `m${i}`))));
      assert.deepEqual(sortedNums(rs.map((r) => r.msg.seq)), range1(100));
      assert.deepEqual(rs.map((r) => r.msg.seq), range1(100), "within one process, seqs follow call order");
      const joins = await Promise.all(Array.from({ length: 10 }, () => s.addMember("golang", "bob")));
      assert.equal(joins.filter(Boolean).length, 1);
      assert.equal((await s.getTopic("golang"))?.memberCount, 2);
    }));

  test("cursors only move forward", () =>
    withStore(factory, async (s) => {
      assert.equal(await s.getCursor("bob", "golang"), 0);
      await s.setCursors([{ clientId: "bob", topic: "golang", seq: 5 }]);
      assert.equal(await s.getCursor("bob", "golang"), 5);
      await s.setCursors([{ clientId: "bob", topic: "golang", seq: 3 }]);
      assert.equal(await s.getCursor("bob", "golang"), 5, "a lower value is ignored");
      await s.setCursors([
        { clientId: "bob", topic: "golang", seq: 9 },
        { clientId: "bob", topic: "golang", seq: 7 },
        { clientId: "bob", topic: "rust", seq: 2 },
        { clientId: "carol", topic: "golang", seq: 1 },
      ]);
      assert.equal(await s.getCursor("bob", "golang"), 9, "the highest of one batch wins");
      assert.equal(await s.getCursor("bob", "rust"), 2);
      assert.equal(await s.getCursor("carol", "golang"), 1);
      await s.setCursors([]);
      assert.equal(await s.getCursor("bob", "golang"), 9);
    }));

  test("upsertClient replaces, but ignores an older lastSeenMs", () =>
    withStore(factory, async (s) => {
      assert.equal(await s.getClient("alice"), null);
      const rec = { clientId: "alice", clientAddr: "10.0.0.1:5000", msgServerAddr: "ms1:8000", alive: true, lastSeenMs: 100 };
      await s.upsertClient(rec);
      assert.deepEqual(await s.getClient("alice"), rec);
      await s.upsertClient({ ...rec, msgServerAddr: "ms-old", alive: false, lastSeenMs: 50 });
      assert.deepEqual(await s.getClient("alice"), rec, "older report ignored");
      const newer = { ...rec, clientAddr: "10.0.0.2:6000", msgServerAddr: "ms2:8000", alive: false, lastSeenMs: 200 };
      await s.upsertClient(newer);
      assert.deepEqual(await s.getClient("alice"), newer);
      assert.equal(await s.getClient("bob"), null);
    }));
}
