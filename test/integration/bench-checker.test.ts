/**
 * The load tool's correctness checker must be able to fail (issue 6): pure tests feed it
 * synthetic streams with a loss, a duplicate, a reorder and a misdelivery; then the real tool runs
 * a CI-sized smoke scenario against a real cluster (must pass, exit 0) and the same scenario with
 * injected faults (must fail, exit 1, with exactly the injected counts).
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Checker, Verdict } from "../../scripts/bench/checker.js";
import { SeqSet } from "../../scripts/bench/seq-set.js";
import { FaultInjector, type Delivery } from "../../scripts/bench/inject.js";
import { decodeBody, encodeBody } from "../../scripts/bench/body.js";
import { pairClients } from "../../scripts/bench/pairing.js";

const BENCH = resolve(import.meta.dirname, "../../scripts/bench/main.js");

/** Sender 0 -> recipient 1, messages 1..n, all acked. */
function healthy(n: number): Checker {
  const c = new Checker();
  c.addSender(0, [1]);
  for (let s = 1; s <= n; s++) {
    c.sent(0, s);
    c.acked(0, s);
  }
  return c;
}

test("SeqSet keeps ranges, merges neighbours and intersects", () => {
  const s = new SeqSet();
  for (const v of [1, 2, 3, 7, 5, 6, 4]) assert.equal(s.add(v), true);
  assert.equal(s.add(5), false);
  assert.deepEqual(s.ranges(), [[1, 7]]);
  s.add(10);
  const t = new SeqSet();
  for (const v of [2, 3, 10, 11]) t.add(v);
  assert.equal(s.intersectionSize(t), 3);
  assert.deepEqual(s.sampleMissingFrom(t, 3), [1, 4, 5]);
  assert.equal(s.has(9), false);
  assert.equal(s.has(6), true);
});

test("checker: a complete, ordered stream passes", () => {
  const c = healthy(100);
  for (let s = 1; s <= 100; s++) assert.equal(c.delivered(1, 0, s), Verdict.OK);
  const r = c.report();
  assert.equal(c.outstanding, 0);
  assert.deepEqual([r.lost, r.duplicated, r.outOfOrder, r.misdelivered, r.failures.length], [0, 0, 0, 0, 0]);
  assert.equal(r.expected, 100);
});

test("checker: catches a lost, a duplicated and a reordered delivery", () => {
  const c = healthy(10);
  for (const s of [1, 2, 4, 3, 3, 6, 7, 8, 9, 10]) c.delivered(1, 0, s); // 5 lost, 3 repeated, 3 after 4
  const r = c.report();
  assert.equal(r.lost, 1);
  assert.deepEqual(r.lostSamples, [{ sender: 0, recipient: 1, seq: 5 }]);
  assert.equal(r.duplicated, 1);
  assert.equal(r.outOfOrder, 1);
  assert.equal(r.failures.length, 3);
  assert.equal(c.outstanding, 1);
});

test("checker: misdelivery, unacked deliveries and deliveries ahead of their OK", () => {
  const c = new Checker();
  c.addSender(0, [1, 2]);
  c.sent(0, 1);
  c.sent(0, 2);
  c.sent(0, 3);
  assert.equal(c.delivered(1, 0, 1), Verdict.OK); // before its OK: counts once the OK comes
  c.acked(0, 1);
  c.delivered(2, 0, 1);
  assert.equal(c.outstanding, 0);
  c.rejected(0, 2);
  c.delivered(1, 0, 3); // never acked (OK still in flight): reported, not a failure
  assert.equal(c.delivered(3, 0, 1), Verdict.MISDELIVERED); // not a recipient
  assert.equal(c.delivered(1, 0, 9), Verdict.MISDELIVERED); // never sent
  assert.equal(c.delivered(1, 7, 1), Verdict.MISDELIVERED); // unknown sender
  const r = c.report();
  assert.deepEqual([r.sent, r.acked, r.rejected, r.unanswered, r.expected], [3, 1, 1, 1, 2]);
  assert.deepEqual([r.lost, r.deliveredUnacked, r.misdelivered], [0, 1, 3]);
  assert.deepEqual(r.failures, ["3 deliveries never sent to that recipient"]);
});

test("fault injector: what it does to a stream is what the checker reports", () => {
  const c = healthy(50);
  const inj = new FaultInjector({ loss: 2, dup: 1, reorder: 1 });
  const sink = (d: Delivery) => void c.delivered(d.recipient, d.sender, d.seq);
  for (let s = 1; s <= 50; s++) inj.feed({ recipient: 1, sender: 0, seq: s, sendUs: 0, recvUs: 0 }, sink);
  inj.flush(sink);
  const r = c.report();
  assert.deepEqual([r.lost, r.duplicated, r.outOfOrder], [2, 1, 1]);
});

test("message bodies carry sender, sequence and send time", () => {
  const b = encodeBody(12, 345, 6789, 64);
  assert.equal(b.length, 64);
  assert.doesNotMatch(b, /[\s"]/);
  assert.deepEqual(decodeBody(b), { sender: 12, seq: 345, sendUs: 6789 });
  assert.deepEqual(decodeBody(encodeBody(1, 2, 3, 8)), { sender: 1, seq: 2, sendUs: 3 });
  assert.equal(decodeBody("hello"), null);
  assert.equal(decodeBody("1.x.3"), null);
});

test("pairing follows where the gateway placed each client", () => {
  const servers = ["a", "b", "a", "b", "a", "b"];
  const cross = pairClients(servers, "cross", 1);
  assert.equal(cross.crossServer, 3);
  for (let i = 0; i < 6; i++) assert.equal(cross.partner[cross.partner[i]!], i);
  assert.equal(pairClients(servers, "same", 1).sameServer, 2); // 3 + 3: one pair must cross
  const random = pairClients(servers, "random", 7);
  assert.deepEqual(random, pairClients(servers, "random", 7));
});

interface BenchJson {
  runs: { metrics: Record<string, number>; failures: string[] }[];
}

function runBench(args: string[]): Promise<{ code: number | null; out: string; json: BenchJson }> {
  const dir = mkdtempSync(join(tmpdir(), "fc-bench-test-"));
  const jsonFile = join(dir, "result.json");
  return new Promise((resolvePromise, reject) => {
    const p = spawn(process.execPath, [BENCH, ...args, "--json", jsonFile], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (out += d.toString()));
    p.on("error", reject);
    p.on("exit", (code) => {
      try {
        const json = JSON.parse(readFileSync(jsonFile, "utf8")) as BenchJson;
        resolvePromise({ code, out, json });
      } catch (err) {
        reject(new Error(`bench exited ${code} without JSON: ${out}`, { cause: err }));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

test("smoke: a small p2p run against a real cluster is correct and exits 0", { timeout: 120_000 }, async () => {
  const { code, out, json } = await runBench(["p2p", "--smoke"]);
  assert.equal(code, 0, out);
  const m = json.runs[0]!.metrics;
  assert.equal(m.sent, 200);
  assert.equal(m.acked, 200);
  assert.equal(m.delivered, 200);
  assert.deepEqual([m.lost, m.duplicated, m.outOfOrder], [0, 0, 0]);
  assert.ok((m["cpuSec:cluster total"] ?? -1) >= 0, "process figures present");
  assert.match(out, /correctness: OK/);
});

test("smoke: a small topic run is correct too", { timeout: 120_000 }, async () => {
  const { code, out, json } = await runBench(["topic", "--smoke", "--lean-cluster"]);
  assert.equal(code, 0, out);
  const m = json.runs[0]!.metrics;
  assert.equal(m.expectedDeliveries, 100 * 5);
  assert.equal(m.delivered, 100 * 5);
});

test("injected loss, duplicate and reorder fail the run with exit code 1", { timeout: 120_000 }, async () => {
  const { code, out, json } = await runBench(["p2p", "--smoke", "--lean-cluster", "--inject-loss", "3", "--inject-dup", "1", "--inject-reorder", "1"]);
  assert.equal(code, 1, out);
  const m = json.runs[0]!.metrics;
  assert.deepEqual([m.lost, m.duplicated, m.outOfOrder], [3, 1, 1]);
  assert.match(out, /correctness: FAILED: 3 acknowledged deliveries lost/);
});
