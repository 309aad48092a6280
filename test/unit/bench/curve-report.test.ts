/** The latency curve's figures, table and chart (scripts/bench/curve-report.ts, curve-svg.ts, svg.ts). */
import assert from "node:assert/strict";
import test from "node:test";
import { type CurveStep, cpuUsPerDelivered, formatCurve, stepMetrics, stepsOf } from "../../../scripts/bench/curve-report.js";
import { curveSvg } from "../../../scripts/bench/curve-svg.js";
import { parseLoads } from "../../../scripts/bench/options.js";
import { median } from "../../../scripts/bench/report.js";
import { decadeTicks, esc, niceTicks } from "../../../scripts/bench/svg.js";

const step = (offered: number, p99Ms: number, cpuUsPerMsg: number): CurveStep => ({ offered, p50Ms: p99Ms / 4, p99Ms, p999Ms: p99Ms * 2, deliveredPerSec: offered, cpuUsPerMsg, lost: 0 });

test("curve steps survive flattening into run metrics, in load order, and medians work key by key", () => {
  const a: Record<string, number> = { ...stepMetrics(step(5000, 8, 60)), ...stepMetrics(step(1000, 2, 200)), other: 1 };
  assert.equal(a["@5000.p99Ms"], 8);
  assert.deepEqual(stepsOf(a), [step(1000, 2, 200), step(5000, 8, 60)]);
  // Medians of three runs, as main.ts takes them: each step's figure separately.
  const runs = [stepMetrics(step(1000, 2, 200)), stepMetrics(step(1000, 9, 100)), stepMetrics(step(1000, 3, 150))];
  const med = Object.fromEntries(Object.keys(runs[0]!).map((k) => [k, median(runs.map((r) => r[k]!))]));
  assert.equal(stepsOf(med)[0]!.p99Ms, 3);
  assert.equal(stepsOf(med)[0]!.cpuUsPerMsg, 150);
  assert.deepEqual(stepsOf({ "@x.p99Ms": 1, "@100.nonsense": 2 }), []);
});

test("the curve table has a row per load, and B/A ratios when comparing", () => {
  const a = [step(1000, 2, 200), step(5000, 8, 60)];
  const b = [step(1000, 1, 100), step(5000, 16, 60)];
  const lines = formatCurve(a, b).split("\n");
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /offered\/s.*p99 ms.*cpu µs\/msg.*p99 B\/A.*cpu B\/A/);
  assert.match(lines[1]!, /^\s*1,000\s+0\.5\s+2\s+4\s+1,000\s+200\s+0\s+1\s+100\s+0\.50\s+0\.50$/);
  assert.match(lines[2]!, /2\.00\s+1\.00$/);
  // A missing figure prints as "-", never NaN.
  assert.doesNotMatch(formatCurve([{ ...step(1000, 2, 200), p999Ms: Number.NaN }]), /NaN/);
});

test("CPU per delivered message counts the cluster, not the tool or other work", () => {
  const procs = [
    { name: "msg_server#1", pid: 10, cpuSec: 1 },
    { name: "redis", pid: 11, cpuSec: 0.5 },
    { name: "bench", pid: 12, cpuSec: 9 },
    { name: "other (not ours)", pid: 0, cpuSec: 9 },
  ];
  assert.equal(cpuUsPerDelivered(procs, 10_000), 150);
  assert.ok(Number.isNaN(cpuUsPerDelivered(procs, 0)));
});

test("--loads parses, sorts and refuses nonsense", () => {
  assert.deepEqual(parseLoads("5000, 1000,1000"), [1000, 5000]);
  assert.throws(() => parseLoads("1000,x"), /--loads/);
  assert.throws(() => parseLoads("0"), /--loads/);
});

test("axis ticks cover the data; log ticks are decades", () => {
  for (const [lo, hi] of [[0, 3537], [0, 11.79], [0, 1], [0, 0.37], [0, 20000]] as const) {
    const t = niceTicks(lo, hi, 5);
    assert.ok(t[0]! <= lo && t[t.length - 1]! >= hi, `${t} covers [${lo}, ${hi}]`);
    assert.ok(t.length >= 2 && t.length <= 12, `${t.length} ticks`);
  }
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(decadeTicks(0.4, 250), [0.1, 1, 10, 100, 1000]);
  assert.equal(esc(`a<b & "c"`), "a&lt;b &amp; &quot;c&quot;");
});

test("the curve chart is one well-formed SVG with a line per figure and target", () => {
  const svg = curveSvg(
    [
      { label: "A this build", steps: [step(1000, 2, 200), step(5000, 8, 60), step(10000, 40, 45)] },
      { label: "B <main>", steps: [step(1000, 3, 220), step(5000, Number.NaN, 70)] },
    ],
    "test curve",
  );
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.ok(svg.trimEnd().endsWith("</svg>"));
  // 3 latency figures + 1 CPU line, per target.
  assert.equal((svg.match(/<polyline/g) ?? []).length, 8);
  assert.match(svg, /B &lt;main&gt;/);
  assert.doesNotMatch(svg, /NaN|undefined|Infinity/);
  // Every point lies inside the 900-wide picture.
  for (const m of svg.matchAll(/points="([^"]+)"/g)) for (const p of m[1]!.split(" ")) assert.ok(Number(p.split(",")[0]) <= 900);
  assert.match(curveSvg([], "empty"), /no data/);
});
