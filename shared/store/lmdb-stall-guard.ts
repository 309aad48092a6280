/**
 * Why a frozen process must not stop the others (issue 12): every process of one machine shares
 * one LMDB environment, and LMDB lets one write transaction run at a time, across processes,
 * under a robust mutex. A process stopped (SIGSTOP, a debugger, a cgroup freeze) while its write
 * thread holds that mutex keeps it: LMDB recovers the mutex of a dead owner, not of a frozen one,
 * so every other process's writes, and with them every acknowledgement, wait for the whole stall.
 * Reproduced: with one msg_server flooded with sends and frozen, the other acknowledged nothing
 * for the freeze in about one try in three, and an unrelated process's LMDB write hung as well.
 *
 * The guard: when one of our writes has waited `afterMs`, look for a process that has this
 * environment open (its reader table) and is stopped (/proc/<pid>/stat state T or t), and kill
 * it. Killed, it is what LMDB was built for: the mutex passes on (owner dead), its open
 * transaction is discarded (nothing in it was acknowledged), and its clients reconnect elsewhere
 * with everything they had not acknowledged still in the store. A process that is merely slow
 * (state R, S or D) is never touched; a slow disk is not a stall.
 */
import { readFileSync } from "node:fs";

export interface StallGuardOptions {
  /** A write pending this long sends the guard looking for a stopped holder. 0 disables it. */
  afterMs: number;
  /** The environment's reader table (lmdb-js env.readerList()). */
  readerList(): string | string[];
  log?: { warn(obj: object, msg: string): void };
  /** Seams for the unit test: a process's state letter, and the kill itself. */
  stateOf?(pid: number): string | null;
  kill?(pid: number): void;
}

export class StallGuard {
  private readonly pending = new Map<number, number>();
  private next = 0;
  private timer: NodeJS.Timeout | null = null;
  killed = 0;

  constructor(private readonly o: StallGuardOptions) {}

  /** Wrap one write: while it is pending it counts towards the stall check. */
  track<T>(p: Promise<T>): Promise<T> {
    if (this.o.afterMs <= 0) return p;
    const id = this.next++;
    this.pending.set(id, Date.now());
    this.arm();
    return p.finally(() => {
      this.pending.delete(id);
      if (this.pending.size === 0) this.disarm();
    });
  }

  /** One check; the timer calls it while writes are pending. */
  check(now = Date.now()): void {
    let oldest = now;
    for (const t of this.pending.values()) if (t < oldest) oldest = t;
    if (now - oldest < this.o.afterMs) return;
    let pids: number[];
    try {
      pids = readerPids(this.o.readerList());
    } catch {
      return;
    }
    const stateOf = this.o.stateOf ?? procState;
    const kill = this.o.kill ?? ((pid: number) => process.kill(pid, "SIGKILL"));
    for (const pid of pids) {
      if (pid === process.pid) continue;
      const state = stateOf(pid);
      if (state !== "T" && state !== "t") continue;
      this.o.log?.warn({ pid, waitedMs: now - oldest }, "a process sharing the store is stopped while our writes wait on it: killing it so the store's write lock passes on");
      try {
        kill(pid);
        this.killed++;
      } catch {
        // Gone already, or not ours to kill: nothing else we can do.
      }
    }
  }

  stop(): void {
    this.disarm();
    this.pending.clear();
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.check(), Math.max(50, Math.floor(this.o.afterMs / 4)));
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** The pids of mdb_reader_list's output ("pid thread txnid" rows under a header). */
export function readerPids(list: string | string[]): number[] {
  const text = Array.isArray(list) ? list.join("") : list;
  const pids = new Set<number>();
  for (const line of text.split("\n")) {
    const m = /^\s*(\d+)\s/.exec(line);
    if (m) pids.add(Number(m[1]));
  }
  return [...pids];
}

/** The state letter of /proc/<pid>/stat (after the parenthesised name), or null. */
function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) || null;
  } catch {
    return null;
  }
}
