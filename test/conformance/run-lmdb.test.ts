/** The store conformance suite on the LMDB adapter, plus several processes sharing one store. */
import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { ErrorCode } from "../../shared/errors.js";
import { lmdbAttachmentLeftovers, lmdbDbsOf, openLmdbStore } from "../../shared/store/lmdb-store.js";
import type { Durability } from "../../shared/store/lmdb-layout.js";
import { p2pConversation } from "../../shared/protocol/conversation.js";
import type { Store, StoreLimits } from "../../shared/store/store.js";
import type { ChildReport } from "./lmdb-child.js";
import { range1, sortedNums } from "./store-helpers.js";
import { runStoreSuite, type StoreHarness } from "./store.suite.js";

async function lmdbHarness(limits: StoreLimits, durability?: Durability): Promise<StoreHarness> {
  const dir = await mkdtemp(path.join(tmpdir(), "fishchat-lmdb-"));
  const opened: Store[] = [];
  const open = async () => {
    const s = await openLmdbStore({ path: dir, limits, durability });
    opened.push(s);
    return s;
  };
  return {
    store: await open(),
    reopen: open,
    async cleanup() {
      for (const s of opened) await s.close();
      await rm(dir, { recursive: true, force: true });
    },
    async orphans() {
      const dbs = lmdbDbsOf(opened.at(-1) ?? (await open()));
      assert.ok(dbs);
      return lmdbAttachmentLeftovers(dbs);
    },
  };
}

runStoreSuite("lmdb", (limits) => lmdbHarness(limits));
// The other durability modes change how LMDB is opened and when writes resolve: same contract.
runStoreSuite("lmdb (durability flush)", (limits) => lmdbHarness(limits, "flush"));
runStoreSuite("lmdb (durability os)", (limits) => lmdbHarness(limits, "os"));

test("lmdb: ids too long for a key are rejected before anything is written", async () => {
  const h = await lmdbHarness({ inboxMaxPending: 10 });
  try {
    const s = h.store;
    await assert.rejects(s.appendP2P({ uuid: "u1", from: "alice", to: "bob", body: "x", ts: 1, cmid: "c".repeat(3000) }), {
      code: ErrorCode.IM_ERR_BAD_ARGS,
    });
    await assert.rejects(s.createTopic("t".repeat(3000), "alice", 1), { code: ErrorCode.IM_ERR_BAD_ARGS });
    assert.equal(await s.inboxPending("bob"), 0);
    assert.equal((await s.appendP2P({ uuid: "u2", from: "alice", to: "bob", body: "x", ts: 1 })).msg.seq, 1, "no seq was consumed");
  } finally {
    await h.cleanup();
  }
});

function runChild(args: string[]): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(import.meta.dirname, "lmdb-child.js"), args, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    let report: ChildReport | undefined;
    child.on("message", (m) => (report = m as ChildReport));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 && report ? resolve(report) : reject(new Error(`lmdb-child ${args[1]} exited with ${code}`))));
  });
}

test("lmdb: three processes appending to one conversation share seqs, positions and dedup", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "fishchat-lmdb-mp-"));
  try {
    const workers = 3;
    const perWorker = 400;
    const reports = await Promise.all(Array.from({ length: workers }, (_, i) => runChild([dir, String(i), String(perWorker)])));
    const all = reports.flatMap((r) => r.results);
    const shared = all.filter((r) => r.uuid.endsWith("-shared") || r.duplicate);
    const plain = all.filter((r) => !shared.includes(r));

    assert.deepEqual(sortedNums(plain.map((r) => r.seq)), range1(workers * perWorker), "seqs exactly 1..N across processes");
    const toBob = plain.filter((r) => r.to === "bob");
    const toAlice = plain.filter((r) => r.to === "alice");
    assert.equal(toBob.length, (workers * perWorker) / 2);

    // The shared (from, cmid) was stored by exactly one process; all others saw that original.
    assert.equal(shared.length, workers);
    assert.equal(shared.filter((r) => !r.duplicate).length, 1);
    assert.equal(new Set(shared.map((r) => r.uuid)).size, 1);
    assert.equal(new Set(shared.map((r) => r.ipos)).size, 1);
    const bobIpos = [...toBob.map((r) => r.ipos), shared[0]!.ipos];
    assert.deepEqual(sortedNums(bobIpos), range1(toBob.length + 1), "bob's positions exactly 1..n across processes");
    assert.deepEqual(sortedNums(toAlice.map((r) => r.ipos)), range1(toAlice.length));

    const store = await openLmdbStore({ path: dir, limits: { inboxMaxPending: 1_000_000 } });
    try {
      const hist = await store.history(p2pConversation("alice", "bob"), 0, 1_000_000);
      assert.deepEqual(hist.map((m) => m.seq), range1(workers * perWorker));
      assert.equal(await store.inboxPending("bob"), toBob.length + 1);
      const inbox = await store.inboxRange("bob", 0, 1_000_000);
      assert.deepEqual(inbox.map((e) => e.ipos), range1(toBob.length + 1));
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
