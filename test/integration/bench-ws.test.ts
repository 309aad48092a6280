/**
 * The load tool over WebSocket (`--transport ws`): CI-sized smoke runs, checked for correctness
 * like the TCP ones in bench-checker.test.ts. Clients log in through the gateway's
 * GET /v1/endpoint and speak the JSON dialect.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const BENCH = resolve(import.meta.dirname, "../../scripts/bench/main.js");

interface BenchJson {
  runs: { codec: string; metrics: Record<string, number>; failures: string[] }[];
}

function runBench(args: string[]): Promise<{ code: number | null; out: string; json: BenchJson | null }> {
  const dir = mkdtempSync(join(tmpdir(), "fc-bench-ws-"));
  const jsonFile = join(dir, "result.json");
  return new Promise((resolvePromise, reject) => {
    const p = spawn(process.execPath, [BENCH, ...args, "--json", jsonFile], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (out += d.toString()));
    p.on("error", reject);
    p.on("exit", (code) => {
      let json: BenchJson | null = null;
      try {
        json = JSON.parse(readFileSync(jsonFile, "utf8")) as BenchJson;
      } catch {
        // no JSON: the tool refused its options
      }
      rmSync(dir, { recursive: true, force: true });
      resolvePromise({ code, out, json });
    });
  });
}

test("bench --transport ws: a small p2p run over WebSocket is correct and exits 0", { timeout: 120_000 }, async () => {
  const { code, out, json } = await runBench(["p2p", "--smoke", "--lean-cluster", "--transport", "ws"]);
  assert.equal(code, 0, out);
  const r = json!.runs[0]!;
  assert.equal(r.codec, "json");
  assert.deepEqual([r.metrics.sent, r.metrics.acked, r.metrics.delivered], [200, 200, 200]);
  assert.deepEqual([r.metrics.lost, r.metrics.duplicated, r.metrics.outOfOrder], [0, 0, 0]);
  assert.match(out, /correctness: OK/);
});

test("bench --transport ws: a small topic run is correct too (TOPIC_ACK over WebSocket)", { timeout: 120_000 }, async () => {
  const { code, out, json } = await runBench(["topic", "--smoke", "--lean-cluster", "--transport", "ws"]);
  assert.equal(code, 0, out);
  const m = json!.runs[0]!.metrics;
  assert.equal(m.delivered, 100 * 5);
  assert.equal(m.expectedDeliveries, 100 * 5);
});

test("bench --transport ws: idle sessions are held (the server's pings keep them)", { timeout: 120_000 }, async () => {
  const { code, out, json } = await runBench(["idle", "--smoke", "--lean-cluster", "--transport", "ws"]);
  assert.equal(code, 0, out);
  const m = json!.runs[0]!.metrics;
  assert.deepEqual([m.connections, m.dropped, m.failed], [200, 0, 0]);
});

test("bench: --codec applies to TCP only", { timeout: 30_000 }, async () => {
  const { code, out } = await runBench(["p2p", "--smoke", "--transport", "ws", "--codec", "packet"]);
  assert.equal(code, 2);
  assert.match(out, /--codec applies to --transport tcp/);
});
