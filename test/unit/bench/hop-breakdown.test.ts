/** The per-message hop breakdown of --trace-dir (scripts/bench/hop-breakdown.ts), and the sampling rule. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { hopBreakdown, hopTable } from "../../../scripts/bench/hop-breakdown.js";
import type { TraceFile, TraceRecord } from "../../../scripts/bench/trace-parse.js";
import { hopSampled, setHopTracer } from "../../../shared/trace/hops.js";
import type { Tracer } from "../../../shared/trace/tracer.js";

const hop = (id: string, at: string, t: number): TraceRecord => ({ t, type: "hop", id, at });
const file = (name: string, events: TraceRecord[]): TraceFile => ({ name, events, badLines: 0 });

test("segments are the gaps between a message's steps in hop order, across files", () => {
  const tool = file("bench-1", [hop("a", "sched", 0), hop("a", "delivered", 10), hop("b", "sched", 100), hop("b", "delivered", 103)]);
  // Message a crosses a router; b is delivered on its own server. Files list events in any order.
  const ms1 = file("msg_server-2", [hop("a", "commit", 3), hop("a", "recv", 1), hop("a", "publish", 3.5), hop("b", "recv", 100.5), hop("b", "commit", 101), hop("b", "push", 101.2)]);
  const router = file("router-3", [hop("a", "router-in", 4), hop("a", "router-out", 4.5)]);
  const ms2 = file("msg_server-4", [hop("a", "routed-in", 5), hop("a", "push", 6), hop("a", "push", 9), { t: 7, type: "gc", ms: 1 }]);
  const orphan = file("msg_server-5", [hop("c", "recv", 1), hop("c", "commit", 2)]);
  const b = hopBreakdown([tool, ms1, router, ms2, orphan]);
  assert.equal(b.messages, 2, "only messages with both ends count");
  const seg = new Map(b.segments.map((s) => [s.name, s]));
  assert.deepEqual(
    b.segments.map((s) => s.name),
    ["sched→recv", "recv→commit", "commit→publish", "commit→push", "publish→router-in", "router-in→router-out", "router-out→routed-in", "routed-in→push", "push→delivered"],
  );
  assert.equal(seg.get("routed-in→push")!.maxMs, 1, "the first push counts, not a redelivery");
  assert.equal(seg.get("push→delivered")!.n, 2);
  assert.equal(seg.get("push→delivered")!.maxMs, 4);
  assert.equal(seg.get("commit→push")!.n, 1, "only the local message has commit→push");
  assert.equal(b.totalP99Ms, 10);
  assert.equal(b.totalP50Ms, 3);
  assert.equal(seg.get("recv→commit")!.tailMeanMs, 2, "the slowest message is a: its store step took 2 ms");
  assert.match(hopTable(b), /2 sampled messages, end to end p50 3 ms, p99 10 ms/);
});

test("no hops, no breakdown", () => {
  const b = hopBreakdown([file("bench-1", [{ t: 1, type: "delivery", maxMs: 3, n: 1 }])]);
  assert.equal(b.messages, 0);
  assert.deepEqual(b.segments, []);
});

test("sampling is decided by the uuid alone, and off without a tracer", () => {
  const fake = { emit() {} } as unknown as Tracer;
  assert.equal(hopSampled("00000000-0000-4000-8000-000000000010"), false, "off without a tracer");
  setHopTracer(fake, 16);
  try {
    assert.equal(hopSampled("00000000-0000-4000-8000-000000000010"), true, "0x0010 is a multiple of 16");
    assert.equal(hopSampled("00000000-0000-4000-8000-000000000011"), false);
    assert.equal(hopSampled("zz"), false, "not a uuid");
    setHopTracer(fake, 0);
    assert.equal(hopSampled("00000000-0000-4000-8000-000000000010"), false, "0 turns hops off");
  } finally {
    setHopTracer(null);
  }
});
