/**
 * CPU time and memory of processes on this machine, from /proc (Linux only; elsewhere the
 * figures are left out). CPU is user + system time; peak RSS is the kernel's VmHWM, the high-water
 * mark over the process's whole life, which is why the tool starts a fresh cluster per run.
 */
import { readFileSync } from "node:fs";

/** Kernel clock ticks per second (`getconf CLK_TCK`); 100 on every mainstream Linux build. */
const CLK_TCK = 100;

export interface ProcSample {
  cpuSec: number;
  /**
   * CPU of the main thread alone (its tid is the pid): the event loop. The rest of cpuSec is the
   * process's other threads: libuv's pool (LMDB commits and fsyncs), V8's GC helpers.
   */
  mainCpuSec: number;
  rssKB: number;
  peakRssKB: number;
}

export interface NamedProc {
  /** Stable across runs ("msg_server#1"), so runs can be compared by name. */
  name: string;
  pid: number;
  /** Where it listens, when known. */
  addr?: string;
}

export function sampleProc(pid: number): ProcSample | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return {
      cpuSec: statCpuSec(readFileSync(`/proc/${pid}/stat`, "utf8")),
      mainCpuSec: statCpuSec(readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8")),
      rssKB: statusKB(status, "VmRSS"),
      peakRssKB: statusKB(status, "VmHWM"),
    };
  } catch {
    return null;
  }
}

/** User + system seconds of a /proc stat line (a process's, or one thread's under task/). */
export function statCpuSec(stat: string): number {
  // The command name is in parentheses and may hold spaces: fields are counted after its ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function statusKB(status: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status);
  return m ? Number(m[1]) : 0;
}

/** Soft limit on open files of a process (`ulimit -n`), or null when unreadable. */
export function openFilesLimit(pid: number | "self"): number | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, "utf8"));
    if (!m) return null;
    return m[1] === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(m[1]);
  } catch {
    return null;
  }
}

export interface ProcessFigure {
  name: string;
  pid: number;
  /** CPU seconds used inside the measurement window. */
  cpuSec: number;
  /** The main thread's share of cpuSec (the event loop); see ProcSample.mainCpuSec. */
  mainCpuSec: number;
  /** cpuSec over the window length, in % of one core (200% = both cores of this machine). */
  cpuPct: number;
  rssMB: number;
  peakRssMB: number;
}

/**
 * Busy CPU seconds of the whole machine since boot (/proc/stat: every state but idle and iowait).
 * Comparing it with what our processes used shows how much of the window went to other work on a
 * shared machine, which would make the figures of that run unreliable.
 */
export function machineBusySec(): number | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    // guest time is already counted in user time; the first 8 fields are the disjoint states.
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - idle) / CLK_TCK;
  } catch {
    return null;
  }
}

/** CPU used by a set of processes between begin() and end(). */
export class Meter {
  private before = new Map<number, ProcSample>();
  private after = new Map<number, ProcSample>();
  private t0 = 0;
  private t1 = 0;
  private busy0: number | null = null;
  private busy1: number | null = null;

  constructor(
    private readonly procs: readonly NamedProc[],
    /** Called at both ends of the window (the CPU profiler toggle, --cpu-prof). */
    private readonly onEdge: (() => void) | null = null,
  ) {}

  begin(): void {
    this.onEdge?.();
    this.t0 = performance.now();
    this.busy0 = machineBusySec();
    for (const p of this.procs) {
      const s = sampleProc(p.pid);
      if (s) this.before.set(p.pid, s);
    }
  }

  end(): void {
    this.t1 = performance.now();
    this.busy1 = machineBusySec();
    this.onEdge?.();
    for (const p of this.procs) {
      const s = sampleProc(p.pid);
      if (s) this.after.set(p.pid, s);
    }
  }

  figures(): ProcessFigure[] {
    const sec = Math.max(1e-9, (this.t1 - this.t0) / 1000);
    const out: ProcessFigure[] = [];
    for (const p of this.procs) {
      const a = this.before.get(p.pid);
      const b = this.after.get(p.pid);
      if (!a || !b) continue;
      const cpu = b.cpuSec - a.cpuSec;
      out.push({
        name: p.name,
        pid: p.pid,
        cpuSec: round(cpu, 2),
        mainCpuSec: round(b.mainCpuSec - a.mainCpuSec, 2),
        cpuPct: round((cpu / sec) * 100, 0),
        rssMB: round(b.rssKB / 1024, 1),
        peakRssMB: round(b.peakRssKB / 1024, 1),
      });
    }
    if (this.busy0 !== null && this.busy1 !== null && out.length > 0) {
      // Everything else that ran on the machine meanwhile (other users, other test suites).
      const ours = out.reduce((sum, p) => sum + p.cpuSec, 0);
      const other = Math.max(0, this.busy1 - this.busy0 - ours);
      out.push({ name: "other (not ours)", pid: 0, cpuSec: round(other, 2), mainCpuSec: 0, cpuPct: round((other / sec) * 100, 0), rssMB: 0, peakRssMB: 0 });
    }
    return out;
  }
}

export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
