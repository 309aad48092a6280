/**
 * The faults `npm run chaos` picks from, one at a time: what each does and how the cluster is
 * put back afterwards. Pure choice (seeded), real processes and real links. Link faults need
 * the namespace hosts (`--net netns`): on loopback they have no targets and are never picked.
 */
import { sleep } from "../../test/support/ports.js";
import type { ChaosCluster, ChaosLink, ChaosProc } from "./clusters.js";

/** One thing a fault can hit, with the way to inject it and undo it after `holdMs`. */
export interface FaultTarget {
  label: string;
  run(holdMs: number): Promise<void>;
}

export interface Fault {
  name: string;
  targets(cl: ChaosCluster): FaultTarget[];
}

const kill = async (p: ChaosProc, holdMs: number) => {
  await p.kill("SIGKILL");
  await sleep(holdMs);
  await p.start();
};

const freeze = async (p: ChaosProc, holdMs: number) => {
  p.signal("SIGSTOP");
  await sleep(holdMs);
  // A frozen msg_server caught holding the store's write lock is killed by the stall guard.
  p.signal("SIGCONT");
  if (!p.running) await p.start();
};

/** A fault on each of the processes or links `which` names (null: absent in this cluster). */
function on<T extends { label: string }>(name: string, which: (cl: ChaosCluster) => (T | null)[], run: (x: T, holdMs: number) => Promise<void>): Fault {
  return {
    name,
    targets: (cl) => which(cl).filter((x): x is T => x !== null).map((x) => ({ label: x.label, run: (holdMs) => run(x, holdMs) })),
  };
}

/**
 * What a lossy, slow internal link costs: 40 ms ± 10 ms each way out of the host and 3% of its
 * frames dropped (TCP retransmits them, so the cost is latency, never lost data).
 */
export const NETEM_SPEC = "delay 40ms 10ms loss 3%";

const shape = async (l: ChaosLink, holdMs: number) => {
  await l.netem(NETEM_SPEC);
  try {
    await sleep(holdMs);
  } finally {
    await l.clearNetem();
  }
};

const cut = async (l: ChaosLink, holdMs: number) => {
  await l.partition();
  try {
    await sleep(holdMs);
  } finally {
    await l.heal();
  }
};

export const FAULTS: Fault[] = [
  on("SIGKILL msg_server", (cl) => cl.msgServers, kill),
  on("SIGSTOP msg_server", (cl) => cl.msgServers, freeze),
  on("SIGKILL router", (cl) => cl.routers, kill),
  on("SIGSTOP router", (cl) => cl.routers, freeze),
  on("SIGKILL manager", (cl) => cl.managers, kill),
  on("SIGSTOP manager", (cl) => cl.managers, freeze),
  on("SIGKILL gateway", (cl) => [cl.gateway], kill),
  // Redis: a restart with AOF on loopback (it keeps most keys), with no persistence on netns (it
  // comes back empty and the services write everything again); a freeze outlasts the TTLs in it.
  on("SIGKILL redis", (cl) => [cl.redis], kill),
  on("SIGSTOP redis", (cl) => [cl.redis], freeze),
  on(`netem ${NETEM_SPEC}`, (cl) => cl.links, shape),
  on("partition", (cl) => [cl.redisLink], cut),
];

/** mulberry32: a small seeded generator, so a failing run can be replayed with its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
