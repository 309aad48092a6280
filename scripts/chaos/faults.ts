/**
 * The faults `npm run chaos` picks from, each one process at a time: what it does and how the
 * cluster is put back afterwards. Pure choice (seeded), real processes.
 */
import type { Cluster, ServiceProc } from "../../test/support/cluster.js";
import { sleep } from "../../test/support/ports.js";

export interface Fault {
  name: string;
  /** Which processes it can hit. */
  targets(cl: Cluster): ServiceProc[];
  /** Inject it on `p` and undo it (restart, SIGCONT) after `holdMs`. */
  run(p: ServiceProc, holdMs: number): Promise<void>;
}

async function restartIfDead(p: ServiceProc): Promise<void> {
  if (!p.running) await p.start();
}

const kill: Fault["run"] = async (p, holdMs) => {
  await p.kill("SIGKILL");
  await sleep(holdMs);
  await p.start();
};

const freeze: Fault["run"] = async (p, holdMs) => {
  p.proc!.kill("SIGSTOP");
  await sleep(holdMs);
  // A frozen msg_server caught holding the store's write lock is killed by the stall guard.
  if (p.running) p.proc!.kill("SIGCONT");
  await restartIfDead(p);
};

export const FAULTS: Fault[] = [
  { name: "SIGKILL msg_server", targets: (cl) => cl.msgServers, run: kill },
  { name: "SIGSTOP msg_server", targets: (cl) => cl.msgServers, run: freeze },
  { name: "SIGKILL router", targets: (cl) => cl.routers, run: kill },
  { name: "SIGSTOP router", targets: (cl) => cl.routers, run: freeze },
  { name: "SIGKILL manager", targets: (cl) => cl.managers, run: kill },
  { name: "SIGSTOP manager", targets: (cl) => cl.managers, run: freeze },
  { name: "SIGKILL gateway", targets: (cl) => (cl.gateway ? [cl.gateway] : []), run: kill },
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
