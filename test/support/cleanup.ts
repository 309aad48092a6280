import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";

/**
 * Last-resort cleanup for test harnesses that start processes and network namespaces.
 *
 * A harness's own stop()/destroy() is the normal path. This module covers the others:
 * - the test process exits without calling it (a failed assertion in a before hook, an uncaught
 *   error, process.exit): a synchronous 'exit' handler kills what is tracked;
 * - SIGINT/SIGTERM/SIGHUP (Ctrl-C, the test runner's timeout): the same, before the signal's
 *   usual effect;
 * - SIGKILL, which no handler sees: a detached shell "reaper" polls this process once a second
 *   and, once it is gone, kills and removes what the state file still lists.
 * The state file (one line per tracked thing) is rewritten on every change, so the reaper never
 * needs to talk to this process.
 */

const stateFile = join(tmpdir(), `fc-cleanup-${process.pid}.state`);
/** pid -> the process's start time in clock ticks, so a reused pid is never killed. */
const procs = new Map<number, string>();
const namespaces = new Set<string>();
/** Temp dirs, only ever under tmpdir() with an "fc-" name (the reaper checks this too). */
const dirs = new Set<string>();
const TMP = tmpdir();
let installed = false;

const REAPER = `
parent="$1"; state="$2"; tmp="$3"
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
[ -f "$state" ] || exit 0
while read -r kind a b; do
  case "$kind" in
    pid)
      st=$(sed 's/^.*) //' "/proc/$a/stat" 2>/dev/null | cut -d' ' -f20)
      [ "$st" = "$b" ] && kill -9 "$a" 2>/dev/null ;;
    netns)
      for p in $(ip netns pids "$a" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
      ip netns del "$a" 2>/dev/null ;;
    dir)
      case "$a" in "$tmp"/fc-*) rm -rf -- "$a" ;; esac ;;
  esac
done < "$state"
rm -f "$state"
`;

/** The start time (field 22 of /proc/<pid>/stat), or "" when the process is gone. */
export function procStartTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces; fields after it are counted from its ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
  } catch {
    return "";
  }
}

function writeState(): void {
  const lines = [...[...procs].map(([pid, st]) => `pid ${pid} ${st}`), ...[...namespaces].map((n) => `netns ${n}`), ...[...dirs].map((d) => `dir ${d}`)];
  if (lines.length === 0) rmSync(stateFile, { force: true });
  else writeFileSync(stateFile, lines.join("\n") + "\n");
}

/** Kill every tracked process and remove every tracked namespace, synchronously. */
export function cleanupNow(): void {
  for (const [pid, st] of procs) {
    if (procStartTime(pid) !== st) continue;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  procs.clear();
  for (const ns of namespaces) removeNetnsSync(ns);
  namespaces.clear();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
  writeState();
}

/** Kill every process inside namespace `ns`, then delete it (its links go with it). */
export function removeNetnsSync(ns: string): void {
  try {
    const pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    for (const p of pids.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(p), "SIGKILL");
      } catch {
        // already gone
      }
    }
  } catch {
    // no such namespace
  }
  try {
    execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  } catch {
    // no such namespace
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", cleanupNow);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = () => {
      cleanupNow();
      // When nobody else handles the signal, restore its usual effect (terminate).
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
  const reaper = spawn("sh", ["-c", REAPER, "fc-reaper", String(process.pid), stateFile, TMP], { detached: true, stdio: "ignore" });
  reaper.unref();
}

/** Track a child process until it exits. */
export function trackProcess(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return;
  install();
  procs.set(pid, procStartTime(pid));
  writeState();
  child.once("exit", () => {
    procs.delete(pid);
    writeState();
  });
}

export function trackNetns(name: string): void {
  install();
  namespaces.add(name);
  writeState();
}

export function untrackNetns(name: string): void {
  namespaces.delete(name);
  writeState();
}

/** Remove a temp dir on exit; only dirs directly under tmpdir() named fc-* are accepted. */
export function trackDir(path: string): void {
  if (dirname(path) !== TMP || !basename(path).startsWith("fc-") || /\s/.test(path)) throw new Error(`not a harness temp dir: ${path}`);
  install();
  dirs.add(path);
  writeState();
}

export function untrackDir(path: string): void {
  dirs.delete(path);
  writeState();
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * What a dead test process left when even its reaper did not run (the machine's own cleanup
 * killed both, say): its state file still lists it. Kill those processes (if their start time
 * still matches), remove those namespaces and dirs, and the file. Returns the files handled.
 */
export function sweepStaleState(): string[] {
  const done: string[] = [];
  for (const f of readdirSync(TMP)) {
    const m = /^fc-cleanup-(\d+)\.state$/.exec(f);
    if (!m || alive(Number(m[1]))) continue;
    const path = join(TMP, f);
    let text = "";
    try {
      text = readFileSync(path, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      const [kind, a = "", b = ""] = line.split(" ");
      if (kind === "pid" && procStartTime(Number(a)) === b) {
        try {
          process.kill(Number(a), "SIGKILL");
        } catch {
          // already gone
        }
      } else if (kind === "netns" && a.startsWith("fcnet-")) removeNetnsSync(a);
      else if (kind === "dir" && dirname(a) === TMP && basename(a).startsWith("fc-")) rmSync(a, { recursive: true, force: true });
    }
    rmSync(path, { force: true });
    done.push(path);
  }
  return done;
}
