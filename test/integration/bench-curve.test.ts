/**
 * `bench curve` end to end with tiny loads (issue 13): a real cluster, two steps of p2p
 * cross-server load, the table, the JSON (per-step figures as `@<load>.*`), the SVG chart, and
 * --trace-dir: the msg_servers and the router write their traces and the timeline is drawn.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseTrace } from "../../scripts/bench/trace-parse.js";

const BENCH = resolve(import.meta.dirname, "../../scripts/bench/main.js");

test("curve: two tiny loads give a row each, CPU per message, a chart and a trace timeline", { timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "fc-bench-curve-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const args = ["curve", "--loads", "40,100", "--clients", "8", "--duration", "1.5", "--warmup", "0.3", "--drain-ms", "3000", "--lean-cluster"];
  const out = await new Promise<{ code: number | null; text: string }>((res, rej) => {
    const p = spawn(process.execPath, [BENCH, ...args, "--json", join(dir, "r.json"), "--svg", join(dir, "c.svg"), "--trace-dir", join(dir, "trace")], { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    p.stdout.on("data", (d: Buffer) => (text += d.toString()));
    p.stderr.on("data", (d: Buffer) => (text += d.toString()));
    p.on("error", rej);
    p.on("exit", (code) => res({ code, text }));
  });
  assert.equal(out.code, 0, out.text);
  assert.match(out.text, /== latency curve \(p2p cross/);
  assert.match(out.text, /^\s+40\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+\d+\s+[\d,.]+\s+0$/m);
  assert.match(out.text, /^\s+100\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+\d+\s+[\d,.]+\s+0$/m);
  const json = JSON.parse(readFileSync(join(dir, "r.json"), "utf8")) as { runs: { metrics: Record<string, number>; failures: string[] }[] };
  const m = json.runs[0]!.metrics;
  assert.deepEqual(json.runs[0]!.failures, []);
  for (const load of [40, 100]) {
    assert.ok(m[`@${load}.deliveredPerSec`]! > load * 0.5, `${load}/s step delivered ${m[`@${load}.deliveredPerSec`]}/s`);
    assert.ok(m[`@${load}.p99Ms`]! > 0 && m[`@${load}.p999Ms`]! >= m[`@${load}.p99Ms`]!);
    assert.ok(m[`@${load}.cpuUsPerMsg`]! > 0, "cluster CPU per delivered message");
    assert.equal(m[`@${load}.lost`], 0);
  }
  assert.equal(m.lost, 0);
  assert.ok(m.delivered! > 0 && m.delivered === m.sent, `${m.delivered} of ${m.sent}`);
  const svg = readFileSync(join(dir, "c.svg"), "utf8");
  assert.match(svg, /^<svg /);
  assert.equal((svg.match(/<polyline/g) ?? []).length, 4);
  const traces = readdirSync(join(dir, "trace"));
  assert.ok(traces.includes("timeline.svg"), String(traces));
  const services = traces.filter((f) => /^(msg_server|router)-\d+\.jsonl$/.test(f));
  assert.equal(services.length, 3, `two msg_servers and the router traced: ${traces}`);
  const ms = traces.filter((f) => f.startsWith("msg_server-")).map((f) => parseTrace(f, readFileSync(join(dir, "trace", f), "utf8")));
  for (const f of ms) {
    assert.ok(f.events.some((e) => e.type === "lag"), `${f.name} has loop lag samples`);
    assert.ok(f.events.some((e) => e.type === "commit"), `${f.name} traced store commits`);
  }
  assert.ok(readdirSync(join(dir, "trace")).some((f) => f.startsWith("bench-")), "the tool's own delivery lane");
});
