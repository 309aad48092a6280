/**
 * CPU cost of one LMDB append, in µs, for the hot-path figures in docs/STORE.md. Not a test:
 * `FISHCHAT_STORE_TIMING=1 node dist/test/conformance/store-append-timing.js [rounds]`. It runs
 * 20,000 appends, 1,000 in flight, per case and round, and prints the lowest CPU time (user + system,
 * all threads, so the commit thread counts) per append: the minimum is what survives noise from
 * other work on a shared machine.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { openLmdbStore } from "../../shared/store/lmdb-store.js";
import type { Store } from "../../shared/store/store.js";

const N = 20_000;
const IN_FLIGHT = 1000;
const BODY = "x".repeat(100);
const T0 = 1_700_000_000_000;

type Append = (s: Store, i: number) => Promise<unknown>;

const CASES: Record<string, Append> = {
  // One conversation, both directions, a distinct ts per message: every append moves the list entries.
  p2pOneConv: (s, i) => s.appendP2P({ uuid: randomUUID(), from: i % 2 ? "alice" : "bob", to: i % 2 ? "bob" : "alice", body: BODY, ts: T0 + i, cmid: `c${i}` }),
  // 1,000 conversations between 2,000 clients: list entries on scattered pages.
  p2p1000Convs: (s, i) => s.appendP2P({ uuid: randomUUID(), from: `a${i % 1000}`, to: `b${(i * 7) % 1000}`, body: BODY, ts: T0 + i, cmid: `c${i}` }),
  // A topic of 50 members, everyone posting.
  topic50: (s, i) => s.appendTopic({ uuid: randomUUID(), topic: "t", from: `u${i % 50}`, body: BODY, ts: T0 + i, cmid: `c${i}` }),
};

async function measure(append: Append): Promise<number> {
  const dir = await mkdtemp(path.join(tmpdir(), "fishchat-timing-"));
  const s = await openLmdbStore({ path: dir, limits: { inboxMaxPending: 1e9 } });
  try {
    await s.createTopic("t", "u0", 1);
    await Promise.all(Array.from({ length: 49 }, (_, i) => s.addMember("t", `u${i + 1}`)));
    await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => append(s, -i - 1))); // warm-up
    const start = process.cpuUsage();
    for (let k = 0; k < N; k += IN_FLIGHT) await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => append(s, k + i)));
    const used = process.cpuUsage(start);
    return (used.user + used.system) / N;
  } finally {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(rounds: number): Promise<void> {
  const best: Record<string, number> = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, append] of Object.entries(CASES)) best[name] = Math.min(best[name] ?? Number.POSITIVE_INFINITY, await measure(append));
  }
  const line = Object.entries(best).map(([k, v]) => `${k} ${v.toFixed(1)} µs`);
  process.stdout.write(`${line.join(", ")}\n`);
}

// node --test loads every compiled file under test/: only run when asked.
if (process.env.FISHCHAT_STORE_TIMING === "1") await main(Number(process.argv[2] ?? 5));
