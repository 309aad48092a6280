import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { alive, removeNetnsSync } from "./cleanup.js";

const execFileP = promisify(execFile);

/** Every namespace the harness creates is named `fcnet-<creator pid>-...`. */
export const NETNS_PREFIX = "fcnet-";
const STALE = /^fcnet-(\d+)-/;

/** Run `ip ...` (or `tc ...`), rejecting with its stderr. */
export async function run(cmd: "ip" | "tc", args: string[]): Promise<string> {
  try {
    return (await execFileP(cmd, args, { encoding: "utf8" })).stdout;
  } catch (err) {
    const e = err as { stderr?: string };
    throw new Error(`${cmd} ${args.join(" ")}: ${(e.stderr ?? String(err)).trim()}`);
  }
}

function runSync(cmd: string, args: string[]): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }) };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return { ok: false, out: (e.stderr || e.message).trim() };
  }
}

export function listNetns(): string[] {
  const r = runSync("ip", ["netns", "list"]);
  return r.ok ? r.out.split("\n").map((l) => l.split(" ")[0] ?? "").filter(Boolean) : [];
}

/**
 * Remove the namespaces (and the processes in them) that a crashed earlier run left behind:
 * those whose creator pid no longer runs. Namespaces of runs still going are left alone, so two
 * test processes can use the harness at once. Returns the names removed.
 */
export function sweepStaleNetns(): string[] {
  const removed: string[] = [];
  for (const ns of listNetns()) {
    const m = STALE.exec(ns);
    if (!m || alive(Number(m[1]))) continue;
    removeNetnsSync(ns);
    removed.push(ns);
  }
  return removed;
}

export interface NetnsSupport {
  /** Why namespaces cannot be used here, or null when they can. */
  reason: string | null;
  /** Whether the kernel has sch_netem (else netem faults use the userspace wire). */
  kernelNetem: boolean;
  /** Why the userspace wire cannot run (python3 with AF_PACKET missing), or null. */
  wireReason: string | null;
}

let cached: NetnsSupport | null = null;

/** Probe once per process, in a throw-away namespace (nothing touches the root namespace). */
export function probeNetns(): NetnsSupport {
  if (cached) return cached;
  const probe = (): NetnsSupport => {
    const no = (reason: string): NetnsSupport => ({ reason, kernelNetem: false, wireReason: reason });
    if (process.platform !== "linux") return no(`network namespaces need Linux (this is ${process.platform})`);
    const uid = process.getuid?.() ?? -1;
    if (uid !== 0) return no(`creating network namespaces needs root (running as uid ${uid})`);
    if (!runSync("ip", ["-V"]).ok) return no("the `ip` command (iproute2) is not installed");
    const ns = `${NETNS_PREFIX}${process.pid}-probe`;
    const add = runSync("ip", ["netns", "add", ns]);
    if (!add.ok) return no(`\`ip netns add\` failed: ${add.out}`);
    try {
      const br = runSync("ip", ["-n", ns, "link", "add", "br0", "type", "bridge"]);
      if (!br.ok) return no(`cannot create a bridge in a namespace: ${br.out}`);
      const veth = runSync("ip", ["-n", ns, "link", "add", "va", "type", "veth", "peer", "name", "vb"]);
      if (!veth.ok) return no(`cannot create a veth pair in a namespace: ${veth.out}`);
      const kernelNetem = runSync("tc", ["-n", ns, "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"]).ok;
      const py = runSync("python3", ["-c", "import socket; socket.AF_PACKET"]);
      return { reason: null, kernelNetem, wireReason: py.ok ? null : `no python3 with AF_PACKET for the userspace netem wire: ${py.out}` };
    } finally {
      removeNetnsSync(ns);
    }
  };
  cached = probe();
  return cached;
}

/**
 * Null when this machine can build test networks of namespaces, else the reason it cannot (for
 * a skipped test's name): not Linux, not root, no `ip`, or creating a namespace/bridge/veth fails.
 */
export function netnsAvailable(): string | null {
  return probeNetns().reason;
}

/** Null when netem faults (delay/loss) can be applied, by the kernel or the userspace wire. */
export function netemAvailable(): string | null {
  const s = probeNetns();
  if (s.reason) return s.reason;
  if (s.kernelNetem) return null;
  return s.wireReason ? `the kernel has no sch_netem and ${s.wireReason}` : null;
}
