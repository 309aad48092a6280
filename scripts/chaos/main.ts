#!/usr/bin/env node
/**
 * `npm run chaos -- --duration 120 --seed N`: a cluster of real processes (2 msg_servers, 2
 * routers, 2 managers, a gateway) under steady p2p traffic between reconnecting clients, with
 * random faults from faults.ts, one at a time. Prints a table of the faults injected (with the
 * time until every sender had an acknowledgement again) and the counts of the checker
 * (test/support/tracker.ts); exits 1 on any acknowledged loss, duplicate or reordering.
 */
import { Command, InvalidArgumentError } from "commander";
import { startCluster } from "../../test/support/cluster.js";
import { sleep, waitFor } from "../../test/support/ports.js";
import { reconnecting } from "../../test/support/reconnecting.js";
import { Tracker } from "../../test/support/tracker.js";
import { FAULTS, seeded } from "./faults.js";

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("a whole number");
  return n;
};
const opts = new Command("chaos")
  .option("--duration <s>", "seconds of faults under load", int, 120)
  .option("--seed <n>", "seed of the fault sequence (default: random, printed)", int)
  .option("--pairs <n>", "sender/recipient pairs", int, 6)
  .option("--pace <ms>", "pause between one sender's messages", int, 20)
  .parse(process.argv)
  .opts<{ duration: number; seed?: number; pairs: number; pace: number }>();
const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
const rand = seeded(seed);
const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;

interface Pair {
  tracker: Tracker;
  sent: number;
  lastAckAt: number;
}

async function main(): Promise<number> {
  console.log(`chaos: seed ${seed}, ${opts.duration} s, ${opts.pairs} pairs`);
  const cl = await startCluster(null, { msgServers: 2, routers: 2, manager: true, managers: 2, conf: { msg_server: { inboxSweepMs: 1000 } } });
  const stops: (() => void)[] = [];
  try {
    const pairs: Pair[] = [];
    let sending = true;
    const loops: Promise<void>[] = [];
    for (let i = 0; i < opts.pairs; i++) {
      const pair: Pair = { tracker: new Tracker(), sent: 0, lastAckAt: Date.now() };
      const rx = await reconnecting(cl, `chaos-rx-${seed}-${i}`, pair.tracker);
      const tx = await reconnecting(cl, `chaos-tx-${seed}-${i}`, new Tracker());
      stops.push(rx.stop, tx.stop);
      pairs.push(pair);
      loops.push(
        (async () => {
          // One message at a time, retried with its cmid until acknowledged (the store deduplicates).
          for (let n = 0; sending; n++) {
            const cmid = `m${n}`;
            for (;;) {
              try {
                const r = await tx.get().sendP2P(`chaos-rx-${seed}-${i}`, cmid, cmid);
                pair.tracker.acked.set(cmid, r.uuid);
                pair.lastAckAt = Date.now();
                break;
              } catch {
                await sleep(100);
              }
            }
            pair.sent = n + 1;
            await sleep(opts.pace);
          }
        })(),
      );
    }
    const rows: string[][] = [];
    const end = Date.now() + opts.duration * 1000;
    await sleep(2000);
    while (Date.now() < end) {
      const fault = pick(FAULTS);
      const target = pick(fault.targets(cl));
      const holdMs = 500 + Math.floor(rand() * 3000);
      const at = Date.now();
      await fault.run(target, holdMs);
      await cl.routerReady();
      // Recovered when every sender got an acknowledgement after the fault was undone.
      const undone = Date.now();
      let recovery = "-";
      try {
        await waitFor("every sender acknowledged again", () => pairs.every((p) => p.lastAckAt > undone), 30_000, 50);
        recovery = String(Date.now() - undone);
      } catch {
        recovery = "> 30000";
      }
      rows.push([String(rows.length + 1), `${((at - (end - opts.duration * 1000)) / 1000).toFixed(1)}`, fault.name, `${target.name}:${target.port}`, String(holdMs), recovery]);
      await sleep(500 + Math.floor(rand() * 2000));
    }
    sending = false;
    await Promise.all(loops);
    const total = (f: (t: Tracker) => number) => pairs.reduce((s, p) => s + f(p.tracker), 0);
    try {
      await waitFor("every acknowledged message delivered", () => total((t) => t.lost().length) === 0, 30_000, 200);
    } catch {
      // Reported below.
    }
    console.log("\n| # | at s | fault | process | held ms | recovery ms |\n|---|---|---|---|---|---|");
    for (const r of rows) console.log(`| ${r.join(" | ")} |`);
    const counts = {
      acknowledged: total((t) => t.acked.size),
      delivered: total((t) => [...t.acked.values()].filter((u) => t.seen.has(u)).length),
      lost: total((t) => t.lost().length),
      storedTwice: total((t) => t.storedTwice().length),
      duplicatesOnOneConnection: total((t) => t.sameConnDuplicates),
      outOfOrder: total((t) => t.reordered()),
    };
    console.log("\n| acknowledged | delivered | lost | stored twice | duplicates on one connection | out of order |\n|---|---|---|---|---|---|");
    console.log(`| ${Object.values(counts).join(" | ")} |`);
    const ok = counts.lost === 0 && counts.storedTwice === 0 && counts.duplicatesOnOneConnection === 0 && counts.outOfOrder === 0;
    console.log(ok ? `\nchaos: OK (seed ${seed})` : `\nchaos: FAILED (seed ${seed}); replay with --seed ${seed}`);
    return ok ? 0 : 1;
  } finally {
    for (const s of stops) s();
    await cl.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
