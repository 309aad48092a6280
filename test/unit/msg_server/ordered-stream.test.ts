import test from "node:test";
import assert from "node:assert/strict";
import { OrderedStream, type StreamEntry } from "../../../services/msg_server/ordered-stream.js";

/** A fake store (an array of committed entries) and a fake connection (the pushed positions). */
function harness(opts: { committed?: number[]; start?: number; batch?: number; maxStash?: number; holeGraceMs?: number; skipHoles?: boolean; gapWaitMs?: number } = {}) {
  const committed = new Set(opts.committed ?? []);
  const pushed: number[] = [];
  let pulls = 0;
  let alive = true;
  const stream = new OrderedStream<string>(opts.start ?? 0, {
    push: (pos) => {
      pushed.push(pos);
      return alive;
    },
    pull: async (after, limit): Promise<StreamEntry<string>[]> => {
      pulls++;
      await new Promise((r) => setImmediate(r));
      return [...committed].filter((p) => p > after).sort((a, b) => a - b).slice(0, limit).map((pos) => ({ pos, item: `m${pos}` }));
    },
    congested: () => false,
    writable: async () => undefined,
    batch: opts.batch ?? 100,
    skipHoles: opts.skipHoles ?? true,
    gapWaitMs: opts.gapWaitMs ?? 0,
    maxStash: opts.maxStash ?? 100,
    holeGraceMs: opts.holeGraceMs ?? 50,
    onError: (err) => assert.fail(String(err)),
  });
  const settle = () => new Promise((r) => setTimeout(r, 20));
  return { stream, pushed, committed, settle, pulls: () => pulls, kill: () => (alive = false) };
}

test("catches up from the store, then delivers live entries in order", async () => {
  const h = harness({ committed: [1, 2, 3] });
  h.stream.offer(4, "m4"); // arrives during catch-up: stashed
  h.committed.add(4);
  h.stream.open();
  await h.settle();
  assert.deepEqual(h.pushed, [1, 2, 3, 4]);
  h.stream.offer(5, "m5");
  assert.deepEqual(h.pushed, [1, 2, 3, 4, 5], "in-order live entries go straight out");
});

test("duplicates are dropped: each position at most once per connection", async () => {
  const h = harness({ committed: [1, 2] });
  h.stream.open();
  await h.settle();
  h.stream.offer(2, "m2");
  h.stream.offer(1, "m1");
  h.committed.add(3);
  h.stream.offer(3, "m3");
  h.stream.offer(3, "m3");
  assert.deepEqual(h.pushed, [1, 2, 3]);
});

test("a gap makes it pull the store, so a lost route is recovered in order", async () => {
  const h = harness();
  h.stream.open();
  await h.settle();
  h.committed.add(1).add(2).add(3);
  h.stream.offer(3, "m3"); // 1 and 2 were routed but lost
  await h.settle();
  assert.deepEqual(h.pushed, [1, 2, 3]);
});

test("entries arriving out of order are reordered", async () => {
  const h = harness();
  h.stream.open();
  await h.settle();
  for (const p of [1, 2, 3, 4]) h.committed.add(p);
  h.stream.offer(2, "m2");
  h.stream.offer(4, "m4");
  h.stream.offer(1, "m1");
  h.stream.offer(3, "m3");
  await h.settle();
  assert.deepEqual(h.pushed, [1, 2, 3, 4]);
});

test("a position that never gets committed is skipped after the grace period", async () => {
  const h = harness({ holeGraceMs: 30 });
  h.stream.open();
  await h.settle();
  h.committed.add(2);
  h.stream.offer(2, "m2"); // 1 was allocated by a writer that crashed before committing
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(h.pushed, [2]);
});

test("the sweep pulls only when the head stays ahead for two sweeps", async () => {
  const h = harness();
  h.stream.open();
  await h.settle();
  const before = h.pulls();
  h.committed.add(1);
  h.stream.behind(1); // first sighting: may still be in flight
  await h.settle();
  assert.equal(h.pulls(), before);
  assert.deepEqual(h.pushed, []);
  h.stream.behind(1); // still behind: the route was lost
  await h.settle();
  assert.deepEqual(h.pushed, [1]);
});

test("a head made of acknowledged holes is not pulled again and again", async () => {
  const h = harness({ start: 5 });
  h.stream.open();
  await h.settle();
  h.stream.behind(7); // 6 and 7 were acknowledged earlier: nothing to read
  h.stream.behind(7);
  await h.settle();
  const pulls = h.pulls();
  h.stream.behind(7);
  h.stream.behind(7);
  await h.settle();
  assert.equal(h.pulls(), pulls, "settled head ignored");
});

test("stash overflow drops live entries but the store read still delivers them", async () => {
  const h = harness({ maxStash: 2, batch: 3 });
  for (let p = 1; p <= 10; p++) {
    h.committed.add(p);
    h.stream.offer(p, `m${p}`);
  }
  h.stream.open();
  await h.settle();
  assert.deepEqual(h.pushed, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

test("stops when the connection is gone", async () => {
  const h = harness({ committed: [1, 2, 3] });
  h.kill();
  h.stream.open();
  await h.settle();
  assert.deepEqual(h.pushed, [1]);
  h.stream.offer(4, "m4");
  assert.deepEqual(h.pushed, [1]);
});

test("the catch-up floor: positions up to the head read at login were acknowledged", async () => {
  const h = harness({ committed: [3, 5], start: 2 });
  h.stream.open(7); // 4, 6 and 7 were acknowledged on an earlier connection
  await h.settle();
  assert.deepEqual(h.pushed, [3, 5]);
  assert.equal(h.stream.last, 7);
  h.committed.add(8);
  const pulls = h.pulls();
  h.stream.offer(8, "m8");
  assert.deepEqual(h.pushed, [3, 5, 8], "the next live entry goes straight out");
  assert.equal(h.pulls(), pulls, "without a store read");
});

test("non-atomic store: a live-phase pull waits at a hole instead of stepping over it", async () => {
  const h = harness({ skipHoles: false, holeGraceMs: 300 });
  h.stream.open();
  await h.settle();
  h.committed.add(2); // 1 is still being written by another process
  h.stream.offer(2, "m2");
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(h.pushed, [], "2 is held back");
  h.committed.add(1);
  h.stream.offer(1, "m1");
  await h.settle();
  assert.deepEqual(h.pushed, [1, 2], "in order once 1 arrives");
});

test("non-atomic store: a hole that never fills is skipped after the grace period", async () => {
  const h = harness({ skipHoles: false, holeGraceMs: 100 });
  h.stream.open();
  await h.settle();
  h.committed.add(2);
  h.stream.offer(2, "m2");
  await new Promise((r) => setTimeout(r, 400));
  assert.deepEqual(h.pushed, [2]);
});

test("a gap first waits for the missing entry to arrive live, and reads the store only if it does not", async () => {
  const h = harness({ gapWaitMs: 60 });
  h.stream.open();
  await h.settle();
  const pulls = h.pulls();
  h.committed.add(1).add(2);
  h.stream.offer(2, "m2"); // 1 is on its way by another path
  h.stream.offer(1, "m1");
  await new Promise((r) => setTimeout(r, 120));
  assert.deepEqual(h.pushed, [1, 2]);
  assert.equal(h.pulls(), pulls, "no store read: the gap filled itself");
  h.committed.add(3).add(4);
  h.stream.offer(4, "m4"); // 3 was lost on the way
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(h.pushed, [1, 2], "still waiting");
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(h.pushed, [1, 2, 3, 4], "read from the store after the wait");
});
