import test from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { resolve } from "node:path";

const MAIN = resolve(import.meta.dirname, "../../scripts/chaos/main.js");

/** The short seeded run of `npm run chaos` that CI runs (docs/RELIABILITY.md); a long run is the same with --duration 120. */
test("chaos: 15 s of seeded faults under load, nothing acknowledged lost, duplicated or reordered", { timeout: 120_000 }, async () => {
  const p = spawn(process.execPath, [MAIN, "--duration", "15", "--seed", "20261202"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  p.stdout.on("data", (d: Buffer) => (out += d.toString()));
  p.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => p.once("exit", (c) => r(c)));
  assert.equal(code, 0, out);
  assert.match(out, /\| 1 \| [\d.]+ \| SIG(KILL|STOP) /, "at least one fault injected");
  const totals = /\| (\d+) \| (\d+) \| 0 \| 0 \| 0 \| 0 \|/.exec(out);
  assert.ok(totals, `counts line with 0 lost, 0 duplicates, 0 out of order:\n${out}`);
  assert.ok(Number(totals[1]) > 100 && totals[1] === totals[2], "traffic flowed and every acknowledged message was delivered");
  assert.match(out, /chaos: OK \(seed 20261202\)/);
});
