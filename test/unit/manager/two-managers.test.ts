import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "node:test";
import { MemoryV1Cache } from "../../../shared/bus/memory-v1-cache.js";
import type { SessionEvent } from "../../../shared/protocol/envelope.js";
import { openLmdbStore } from "../../../shared/store/lmdb-store.js";
import { Manager } from "../../../services/manager/manager.js";
import { captureLogger } from "../../support/log-sink.js";

const ev = (clientId: string, serverId: string, alive: boolean, lastSeenMs: number, target: "cache" | "store"): SessionEvent => ({
  type: "session",
  target,
  clientId,
  clientAddr: "10.0.0.9:5000",
  serverId,
  connId: "c1",
  alive,
  lastSeenMs,
});

/** Both targets, as a msg_server publishes them (CLIENT_STATUS and CLIENT_INFO). */
async function report(m: Manager, e: Omit<SessionEvent, "target">): Promise<void> {
  await m.apply(e.serverId, { ...e, target: "cache" });
  await m.apply(e.serverId, { ...e, target: "store" });
}

test("two managers: the same events in any order, and both reaping a dead server, leave the same records", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "fc-mgr2-"));
  const store = await openLmdbStore({ path: dir, limits: { inboxMaxPending: 100 } });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const cache = new MemoryV1Cache();
  const cfg = { v1CacheTtlMs: 60_000, v1TopicMembersMax: 100 };
  const m1 = new Manager(cfg, captureLogger().log, cache, store);
  const m2 = new Manager(cfg, captureLogger().log, cache, store);
  const t0 = Date.now() - 60_000;
  const onA = { ...ev("ann", "a:1", true, t0, "cache") };
  const movedToB = { ...ev("ann", "b:1", true, t0 + 5_000, "cache") };
  const bob = { ...ev("bob", "a:1", true, t0 + 1_000, "cache") };
  for (const m of [m1, m2]) {
    await report(m, onA);
    await report(m, bob);
  }
  // a:1 dies. ann logs in on b:1; manager 1 hears of it before it reaps a:1, manager 2 after.
  await report(m1, movedToB);
  await m1.reapServer("a:1");
  await m2.reapServer("a:1");
  await report(m2, movedToB);

  const ann = await store.getClient("ann");
  assert.deepEqual([ann?.alive, ann?.msgServerAddr], [true, "b:1"], "a reap never overwrites a newer login elsewhere");
  assert.equal((await cache.getSession("ann"))?.MsgServerAddr, "b:1", "v1's cache still points at the live server");
  const rec = await store.getClient("bob");
  assert.deepEqual([rec?.alive, rec?.msgServerAddr, rec?.lastSeenMs], [false, "a:1", t0 + 1_000], "bob offline, last seen when a:1 last reported him");
  assert.equal(await cache.getSession("bob"), null, "bob's v1 cache entry dropped");
  assert.deepEqual([m1.counters.sessionsReaped, m2.counters.sessionsReaped], [2, 2], "each reaped both of a:1's sessions");
});
