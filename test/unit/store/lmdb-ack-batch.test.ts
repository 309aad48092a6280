/**
 * Acks held back to share an append's commit (shared/store/lmdb-ack-batch.ts): they resolve only
 * once committed, ride in the next append's LMDB transaction, commit alone after the delay when
 * nothing else is written, and are not lost by close().
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { AckBatcher } from "../../../shared/store/lmdb-ack-batch.js";
import { lmdbDbsOf, openLmdbStore } from "../../../shared/store/lmdb-store.js";
import type { Store } from "../../../shared/store/store.js";

async function withStore(ackDelayMs: number, fn: (s: Store, commits: () => number, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), "fishchat-ackbatch-"));
  const s = await openLmdbStore({ path: dir, limits: { inboxMaxPending: 100 }, ackDelayMs });
  let n = 0;
  lmdbDbsOf(s)!.env.on("aftercommit", () => n++);
  try {
    await fn(s, () => n, dir);
  } finally {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const msg = (i: number) => ({ uuid: `u-${i}`, from: "alice", to: "bob", body: `m${i}`, ts: 1_000 + i });

test("a held ack commits in the next append's transaction, and resolves only then", () =>
  withStore(60_000, async (s, commits) => {
    const a = await s.appendP2P(msg(1));
    let acked: boolean | undefined;
    const ack = s.ackInbox("bob", a.msg.uuid, a.ipos).then((v) => (acked = v));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(acked, undefined, "not resolved before it is committed");
    assert.equal(await s.inboxPending("bob"), 1, "not yet removed");
    const before = commits();
    await s.appendP2P(msg(2));
    await ack;
    assert.equal(acked, true);
    assert.equal(commits() - before, 1, "the ack and the append shared one commit");
    assert.equal(await s.inboxPending("bob"), 1, "only the second message is pending");
    assert.deepEqual((await s.inboxRange("bob", 0, 10)).map((e) => e.msg.uuid), ["u-2"]);
  }));

test("with nothing else written, a held ack commits on its own after the delay", () =>
  withStore(20, async (s) => {
    const a = await s.appendP2P(msg(1));
    const t0 = performance.now();
    assert.equal(await s.ackInbox("bob", a.msg.uuid, a.ipos), true);
    assert.ok(performance.now() - t0 >= 15, "it waited for company first");
    assert.equal(await s.inboxPending("bob"), 0);
    assert.equal(await s.ackInbox("bob", a.msg.uuid, a.ipos), false, "a repeat finds nothing");
  }));

test("close() commits the acks it holds before the environment closes", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "fishchat-ackbatch-"));
  try {
    const s = await openLmdbStore({ path: dir, limits: { inboxMaxPending: 100 }, ackDelayMs: 60_000 });
    const a = await s.appendP2P(msg(1));
    const ack = s.ackInbox("bob", a.msg.uuid, a.ipos);
    await s.close();
    assert.equal(await ack, true);
    const again = await openLmdbStore({ path: dir, limits: { inboxMaxPending: 100 } });
    assert.equal(await again.inboxPending("bob"), 0, "the removal survived the close");
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("AckBatcher keeps the order of held writes and passes a failure to its caller", async () => {
  const b = new AckBatcher(60_000);
  const order: number[] = [];
  const p1 = b.defer(async () => order.push(1));
  const p2 = b.defer(async () => {
    throw new Error("boom");
  });
  const p3 = b.defer(async () => order.push(3));
  assert.deepEqual(order, [], "nothing runs before a flush");
  b.flush();
  await assert.rejects(p2, /boom/);
  await Promise.all([p1, p3]);
  assert.deepEqual(order, [1, 3]);
  const direct = new AckBatcher(0);
  let ran = false;
  const p = direct.defer(async () => (ran = true));
  assert.equal(ran, true, "delay 0 writes at once");
  await p;
});
