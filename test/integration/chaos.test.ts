import test from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { netnsAvailable } from "../support/netns.js";

const MAIN = resolve(import.meta.dirname, "../../scripts/chaos/main.js");
const reason = netnsAvailable();

/** Past this, the run is stopped (SIGTERM: it kills its cluster) and fails with what it printed. */
const DEADLINE_MS = 100_000;

/** Run `npm run chaos` with `args`; its exit code and output. */
async function chaos(args: string[]): Promise<{ code: number | null; out: string }> {
  const p = spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  p.stdout.on("data", (d: Buffer) => (out += d.toString()));
  p.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => p.once("exit", (c) => r(c)));
  const late = setTimeout(() => {
    out += `\n(test: no exit after ${DEADLINE_MS} ms, sending SIGTERM)\n`;
    p.kill("SIGTERM");
    setTimeout(() => p.kill("SIGKILL"), 10_000).unref();
  }, DEADLINE_MS);
  const code = await exited;
  clearTimeout(late);
  return { code, out };
}

/** The checker's counts: traffic flowed, every acknowledged message delivered, 0 lost / twice / duplicated / reordered. */
function assertClean(out: string, seed: string): void {
  const totals = /\| (\d+) \| (\d+) \| (\d+) \| 0 \| 0 \| 0 \| 0 \|/.exec(out);
  assert.ok(totals, `counts line with 0 lost, 0 duplicates, 0 out of order:\n${out}`);
  assert.ok(Number(totals[2]) > 100 && totals[2] === totals[3], "traffic flowed and every acknowledged message was delivered");
  assert.match(out, new RegExp(`chaos: OK \\(seed ${seed}\\)`));
}

/** The short seeded runs of `npm run chaos` that CI runs (docs/RELIABILITY.md); a long run is the same with --duration 120. */
test("chaos on loopback: 15 s of seeded faults (processes and Redis) under load, nothing acknowledged lost, duplicated or reordered", { timeout: 120_000 }, async () => {
  const { code, out } = await chaos(["--duration", "15", "--seed", "20261202"]);
  assert.equal(code, 0, out);
  assert.match(out, /\| 1 \| [\d.]+ \| SIG(KILL|STOP) /, "at least one fault injected");
  assert.match(out, /\| SIG(KILL|STOP) redis \| redis:\d+ \| \d+ \| \d+ \| \d+ \| \d+ \| \d+ \|/, "a Redis fault among them, with its send latencies");
  assertClean(out, "20261202");
});

test(`chaos on namespace hosts: 15 s of Redis and link faults (netem, partition) under load${reason ? ` (skipped: ${reason})` : ""}`, { skip: reason ?? false, timeout: 120_000 }, async () => {
  const { code, out } = await chaos(["--duration", "15", "--seed", "11", "--net", "netns", "--faults", "redis|netem|partition"]);
  assert.equal(code, 0, out);
  assert.match(out, /\| netem [^|]+ \| host \w+ \| \d+ \| \d+ \| \d+ \| \d+ \| \d+ \|/, "a netem fault on an internal link, with its send latencies");
  assert.match(out, /\| (SIG(KILL|STOP) redis|partition) \|/, "a Redis fault too");
  assertClean(out, "11");
});
