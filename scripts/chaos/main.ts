#!/usr/bin/env node
/**
 * `npm run chaos -- --duration 120 --seed N [--net netns] [--faults REGEX]`: a cluster of real
 * processes (2 msg_servers, 2 routers, 2 managers, a gateway, redis-server) under steady p2p
 * traffic between reconnecting clients, with random faults from faults.ts, one at a time. On
 * `--net netns` every process has a network-namespace host of its own, so links can be slowed,
 * made lossy and cut too. Prints a table of the faults injected (the time until every sender
 * had an acknowledgement again, and the send latency while each one held) and the checker's
 * counts (test/support/tracker.ts); exits 1 on any acknowledged loss, duplicate or reordering.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import type { Cluster } from "../../test/support/cluster.js";
import { sleep, waitFor } from "../../test/support/ports.js";
import { reconnecting } from "../../test/support/reconnecting.js";
import { checkerCounts, SteadyTraffic } from "../../test/support/steady.js";
import { Tracker } from "../../test/support/tracker.js";
import { type ChaosCluster, loopbackChaosCluster, netnsChaosCluster } from "./clusters.js";
import { FAULTS, seeded } from "./faults.js";
import { countsTable, type FaultRow, faultTable } from "./report.js";

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("a whole number");
  return n;
};
const regex = (v: string) => {
  try {
    return new RegExp(v);
  } catch {
    throw new InvalidArgumentError("a regular expression");
  }
};
const opts = new Command("chaos")
  .option("--duration <s>", "seconds of faults under load", int, 120)
  .option("--seed <n>", "seed of the fault sequence (default: random, printed)", int)
  .option("--pairs <n>", "sender/recipient pairs", int, 6)
  .option("--pace <ms>", "pause between one sender's messages", int, 20)
  .addOption(new Option("--net <kind>", "loopback, or network-namespace hosts (needs root; adds link faults)").choices(["loopback", "netns"]).default("loopback"))
  .option("--faults <regex>", "only the faults whose name matches (e.g. 'redis|netem|partition')", regex)
  .parse(process.argv)
  .opts<{ duration: number; seed?: number; pairs: number; pace: number; net: "loopback" | "netns"; faults?: RegExp }>();
const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
const rand = seeded(seed);
const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;

async function main(): Promise<number> {
  console.log(`chaos: seed ${seed}, ${opts.duration} s, ${opts.pairs} pairs, on ${opts.net}`);
  const cl: ChaosCluster = opts.net === "netns" ? await netnsChaosCluster() : await loopbackChaosCluster();
  // Interrupted (Ctrl-C, a test's deadline): the cluster's processes must not outlive us.
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      console.log(`chaos: ${sig}, stopping the cluster`);
      void cl.kill().finally(() => process.exit(2));
    });
  }
  const stops: (() => void)[] = [];
  try {
    const usable = FAULTS.filter((f) => (!opts.faults || opts.faults.test(f.name)) && f.targets(cl).length > 0);
    if (usable.length === 0) throw new Error(`no fault matches ${opts.faults} on ${opts.net}`);
    // reconnecting() only calls client(); the netns cluster's goes through the gateway's forward.
    const clients = cl.clients as unknown as Cluster;
    const trackers: Tracker[] = [];
    const senders = [];
    for (let i = 0; i < opts.pairs; i++) {
      const tracker = new Tracker();
      const rx = await reconnecting(clients, `chaos-rx-${seed}-${i}`, tracker);
      const tx = await reconnecting(clients, `chaos-tx-${seed}-${i}`, new Tracker());
      stops.push(rx.stop, tx.stop);
      trackers.push(tracker);
      senders.push({ to: `chaos-rx-${seed}-${i}`, from: tx.get, tracker });
    }
    // One message at a time per pair, retried with its cmid until acknowledged (the store deduplicates).
    const steady = new SteadyTraffic(senders, { paceMs: opts.pace, retryMs: 100 });
    const rows: FaultRow[] = [];
    const startedAt = Date.now();
    const end = startedAt + opts.duration * 1000;
    await sleep(2000);
    while (Date.now() < end) {
      const fault = pick(usable);
      const target = pick(fault.targets(cl));
      const holdMs = 500 + Math.floor(rand() * 3000);
      const from = Date.now();
      console.log(`chaos: ${((from - startedAt) / 1000).toFixed(1)} s: ${fault.name} on ${target.label} for ${holdMs} ms`);
      await target.run(holdMs);
      const to = Date.now();
      await cl.routerReady();
      // Recovered when every sender got an acknowledgement after the fault was undone.
      let recoveryMs: number | null = null;
      try {
        await waitFor("every sender acknowledged again", () => steady.lastAckAt.every((t) => t > to), 30_000, 50);
        recoveryMs = Date.now() - to;
      } catch {
        // Reported as "> 30000".
      }
      rows.push({ fault: fault.name, target: target.label, holdMs, recoveryMs, from, to });
      await sleep(500 + Math.floor(rand() * 2000));
    }
    await steady.stop();
    try {
      await waitFor("every acknowledged message delivered", () => checkerCounts(trackers).lost === 0, 30_000, 200);
    } catch {
      // Reported below.
    }
    console.log(`\n${faultTable(rows, startedAt, steady)}`);
    const counts = checkerCounts(trackers);
    console.log(`\n${countsTable(steady.sent, counts)}`);
    const errors = [...steady.errors].map(([c, n]) => `${c} × ${n}`).join(", ");
    console.log(`\nfailed send attempts (retried): ${errors || "none"}`);
    const ok = counts.lost === 0 && counts.storedTwice === 0 && counts.duplicatesOnOneConnection === 0 && counts.outOfOrder === 0;
    console.log(ok ? `\nchaos: OK (seed ${seed})` : `\nchaos: FAILED (seed ${seed}); replay with the same options and --seed ${seed}`);
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
