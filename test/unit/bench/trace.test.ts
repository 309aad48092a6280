/**
 * The opt-in runtime trace (shared/trace) and its reading and drawing (scripts/bench/trace-*.ts):
 * a real Tracer writes a real file, the parser reads it back (torn lines skipped and counted),
 * the timeline puts every process on one time axis.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "node:test";
import { startTraceFromEnv, traceFileName } from "../../../shared/trace/from-env.js";
import { Tracer } from "../../../shared/trace/tracer.js";
import { createLogger } from "../../../shared/log/logger.js";
import { parseTrace, readTraceDir, traceStats } from "../../../scripts/bench/trace-parse.js";
import { timelineSvg } from "../../../scripts/bench/trace-svg.js";

const quiet = createLogger({ service: "test", level: "silent" });

function tmp(t: test.TestContext): string {
  const d = mkdtempSync(join(tmpdir(), "fc-trace-"));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test("off unless FISHCHAT_TRACE_FILE is set; {service} and {pid} are filled in", () => {
  assert.equal(startTraceFromEnv("msg_server", quiet, {}), null);
  assert.equal(traceFileName("/x/{service}-{pid}.jsonl", "router", 42), "/x/router-42.jsonl");
});

test("a trace records GC pauses and loop lag as timestamped JSON lines", async (t) => {
  const dir = tmp(t);
  const trace = startTraceFromEnv("msg_server", quiet, { FISHCHAT_TRACE_FILE: join(dir, "{service}-{pid}.jsonl") });
  assert.ok(trace);
  const before = Date.now();
  // The lag sampler measures from its first turn of the loop on.
  await new Promise((r) => setTimeout(r, 150));
  // Garbage for the collector, and a blocked loop for the lag sampler.
  let keep: unknown[] = [];
  for (let i = 0; i < 200_000; i++) keep.push({ i, s: `x${i}` });
  keep = [];
  const until = Date.now() + 60;
  while (Date.now() < until) {
    // block the loop
  }
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 300));
  trace.tracer.emit({ type: "commit", writes: 3, ms: 1.5 });
  trace.stop();
  assert.equal(keep.length, 0);
  const f = parseTrace("x", readFileSync(join(dir, `msg_server-${process.pid}.jsonl`), "utf8"));
  assert.equal(f.badLines, 0);
  const types = new Set(f.events.map((e) => e.type));
  for (const type of ["start", "gc", "lag", "commit", "stop"]) assert.ok(types.has(type), `has ${type} events: ${[...types]}`);
  for (const e of f.events) assert.ok(e.t >= before - 1000 && e.t <= Date.now() + 1000, `t ${e.t} is wall-clock ms`);
  const s = traceStats(f);
  assert.ok(s.gcCount > 0 && s.gcTotalMs > 0);
  assert.ok(s.lagMaxMs >= 30, `the 60 ms block shows as lag (${s.lagMaxMs} ms)`);
  assert.deepEqual([s.commits, s.writesPerCommit, s.commitMaxMs], [1, 3, 1.5]);
});

test("the buffer is bounded: past it events are dropped and counted", (t) => {
  const dir = tmp(t);
  const tr = new Tracer(join(dir, "big.jsonl"), "test");
  const pad = "x".repeat(1000);
  for (let i = 0; i < 6000; i++) tr.emit({ type: "lag", maxMs: i, pad });
  tr.close();
  const text = readFileSync(join(dir, "big.jsonl"), "utf8");
  assert.ok(text.length < 4.5 * 1024 * 1024, `${text.length} bytes written`);
  const f = parseTrace("big", text);
  assert.ok(f.events.length < 6000);
  // Further events after close are ignored, not thrown.
  tr.emit({ type: "lag", maxMs: 1 });
});

test("the parser skips torn and foreign lines, sorts by time, and the timeline shares one axis", (t) => {
  const dir = tmp(t);
  writeFileSync(
    join(dir, "msg_server-1.jsonl"),
    ['{"t":1000.5,"type":"gc","kind":"scavenge","ms":2}', '{"t":900,"type":"lag","maxMs":4,"p99Ms":1}', "not json", '{"type":"lag"}', "[1,2]", '{"t":1200,"type":"commit","writes":5,"ms":0.8}', '{"t":13'].join("\n"),
  );
  writeFileSync(join(dir, "bench-2.jsonl"), '{"t":1100,"type":"delivery","maxMs":7,"n":10}\n');
  writeFileSync(join(dir, "ignored.txt"), "x");
  const files = readTraceDir(dir);
  assert.deepEqual(files.map((f) => f.name), ["bench-2", "msg_server-1"]);
  const ms = files[1]!;
  assert.equal(ms.badLines, 4);
  assert.deepEqual(ms.events.map((e) => e.t), [900, 1000.5, 1200]);
  assert.equal(traceStats(files[0]!).deliveryMaxMs, 7);
  const svg = timelineSvg(files, "t");
  assert.match(svg, /^<svg /);
  assert.ok(svg.trimEnd().endsWith("</svg>"));
  assert.match(svg, /msg_server-1/);
  assert.match(svg, /<rect [^>]*fill="#d62728"/); // the GC pause
  assert.match(svg, /<circle [^>]*fill="#1f77b4"><title>commit: 5 writes, 0.8 ms/);
  // 900 ms is the left edge of the shared axis (x = 200), 1200 ms the right one (x = 1080).
  assert.match(svg, /points="200\.0,[\d.]+"/);
  assert.doesNotMatch(svg, /NaN|undefined/);
  assert.match(timelineSvg([], "none"), /no trace events/);
});
