/**
 * Conformance tests for retention (Store.prune). Registered by runStoreSuite (store.suite.ts).
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import type { Store } from "../../shared/store/store.js";
import { p2p, withStore, type StoreFactory } from "./store-helpers.js";

const NOW = 1_800_000_000_000;
const DAY = 86_400_000;

async function pruneAll(s: Store, policy: { maxAgeMs: number; maxPerConversation: number }, budget = 1000) {
  const total = { scanned: 0, deleted: 0, expiredInbox: 0, passes: 0 };
  let after: [string, number] | undefined;
  for (;;) {
    const r = await s.prune(policy, { now: NOW, budget, after });
    total.scanned += r.scanned;
    total.deleted += r.deleted;
    total.expiredInbox += r.expiredInbox;
    total.passes++;
    if (!r.next) return total;
    after = r.next;
  }
}

export function registerRetentionTests(factory: StoreFactory): void {
  test("retention by count keeps the newest of each conversation; seqs go on", () =>
    withStore(factory, async (s) => {
      await s.createTopic("busy", "alice", NOW);
      for (let i = 1; i <= 10; i++) await s.appendTopic({ uuid: randomUUID(), topic: "busy", from: "alice", body: `t${i}`, ts: NOW - 1000 + i });
      const r = await pruneAll(s, { maxAgeMs: 0, maxPerConversation: 3 });
      assert.equal(r.deleted, 7);
      assert.deepEqual((await s.history("busy", 0, 100)).map((m) => m.body), ["t8", "t9", "t10"]);
      assert.equal((await s.topicHeads(["busy"])).get("busy"), 10, "the head stays");
      const next = await s.appendTopic({ uuid: randomUUID(), topic: "busy", from: "alice", body: "t11", ts: NOW });
      assert.equal(next.msg.seq, 11);
      assert.equal((await pruneAll(s, { maxAgeMs: 0, maxPerConversation: 3 })).deleted, 1, "idempotent: only the one now beyond the count");
    }));

  test("the count limit never takes an undelivered p2p message; acknowledged ones go", () =>
    withStore(factory, async (s) => {
      const sent = [];
      for (let i = 0; i < 5; i++) sent.push(await s.appendP2P(p2p("alice", "bob", `m${i}`, { ts: NOW - 100 + i })));
      for (const r of sent.slice(0, 2)) await s.ackInbox("bob", r.msg.uuid, r.ipos);
      const r = await pruneAll(s, { maxAgeMs: 0, maxPerConversation: 1 });
      assert.equal(r.deleted, 2, "the two acknowledged ones");
      assert.equal(r.expiredInbox, 0);
      assert.deepEqual((await s.inboxRange("bob", 0, 10)).map((e) => e.msg.body), ["m2", "m3", "m4"], "pending messages stay deliverable");
    }));

  test("retention by age drops old messages, undelivered ones too, with their inbox entries", () =>
    withStore(factory, async (s) => {
      await s.appendP2P(p2p("alice", "carol", "ancient", { ts: NOW - 400 * DAY }));
      await s.appendP2P(p2p("alice", "carol", "recent", { ts: NOW - DAY }));
      await s.createTopic("old", "alice", NOW - 500 * DAY);
      await s.appendTopic({ uuid: randomUUID(), topic: "old", from: "alice", body: "dusty", ts: NOW - 400 * DAY });
      const r = await pruneAll(s, { maxAgeMs: 365 * DAY, maxPerConversation: 0 });
      assert.equal(r.deleted, 2);
      assert.equal(r.expiredInbox, 1);
      assert.deepEqual((await s.inboxRange("carol", 0, 10)).map((e) => e.msg.body), ["recent"]);
      assert.equal(await s.inboxPending("carol"), 1, "the pending count follows");
      assert.deepEqual(await s.history("old", 0, 10), []);
    }));

  test("prune goes in slices of the budget and resumes where it stopped", () =>
    withStore(factory, async (s) => {
      await s.createTopic("sliced", "alice", NOW);
      for (let i = 1; i <= 9; i++) await s.appendTopic({ uuid: randomUUID(), topic: "sliced", from: "alice", body: `s${i}`, ts: NOW - 10 * DAY });
      const r = await pruneAll(s, { maxAgeMs: DAY, maxPerConversation: 0 }, 2);
      assert.ok(r.passes >= 5, `${r.passes} passes of at most 2`);
      assert.equal(r.deleted, 9);
      const first = await s.prune({ maxAgeMs: DAY, maxPerConversation: 0 }, { now: NOW, budget: 100 });
      assert.deepEqual([first.deleted, first.next], [0, undefined], "nothing left");
    }));
}
