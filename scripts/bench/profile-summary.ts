/**
 * `node dist/scripts/bench/profile-summary.js DIR|FILE... [--top N] [--callers NAME]`: where each
 * profiled process spent its CPU, as self time per function and per area (our code, a dependency,
 * Node internals, GC), from .cpuprofile files (those of `bench --cpu-prof DIR`, or `node
 * --cpu-prof`). `--callers NAME` adds, for the functions called NAME (say `writeUtf8String`), the
 * call paths their self time came from: which code's socket writes, which code's allocations.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** Frames shown per call path of --callers. */
const CALLER_DEPTH = 8;
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Which part of the system a frame belongs to. */
function area(url: string, fn: string): string {
  if (fn === "(idle)") return "(idle)";
  if (fn === "(garbage collector)") return "(gc)";
  if (fn === "(program)" || url === "") return "(native/program)";
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return `dep:${m[1]}`;
  if (url.startsWith("node:")) return "node internals";
  const d = /dist\/((?:shared|services)\/[^/]+)/.exec(url);
  return d ? d[1]! : "other";
}

const frameName = (n: ProfileNode) => `${n.callFrame.functionName || "(anonymous)"}@${n.callFrame.url.replace(/^.*\/(dist|node_modules)\//, "")}:${n.callFrame.lineNumber + 1}`;

/** Self time of the functions called `name`, by the call path above them (innermost caller first). */
function callerPaths(p: Profile, self: Map<number, number>, name: string, top: number): string[] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const paths = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    if (byId.get(id)?.callFrame.functionName !== name) continue;
    total += us;
    const chain: string[] = [];
    for (let cur = parent.get(id); cur !== undefined && chain.length < CALLER_DEPTH; cur = parent.get(cur)) chain.push(frameName(byId.get(cur)!));
    const k = chain.join(" < ");
    paths.set(k, (paths.get(k) ?? 0) + us);
  }
  const out = [`callers of ${name}: ${(total / 1000).toFixed(0)} ms of self time`];
  for (const [k, us] of [...paths].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k || "(root)"}`);
  return out;
}

function summarise(file: string, top: number, callers: string | null): string {
  const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  // Self time per node from samples and their time deltas (exact), falling back to hit counts.
  const self = new Map<number, number>();
  if (p.samples && p.timeDeltas) {
    p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas![i + 1] ?? 0)));
  } else {
    const per = (p.endTime - p.startTime) / Math.max(1, p.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0));
    for (const n of p.nodes) self.set(n.id, (n.hitCount ?? 0) * per);
  }
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const a = area(url, functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
    if (a === "(idle)") continue;
    busy += us;
    const key = `${functionName || "(anonymous)"}  ${url.replace(/^.*\/(dist|node_modules)\//, "$1/")}:${lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
  }
  const wall = (p.endTime - p.startTime) / 1e6;
  const pct = (us: number) => `${((us / Math.max(1, busy)) * 100).toFixed(1)}%`.padStart(6);
  const lines = [`== ${basename(file)}: ${(busy / 1e6).toFixed(2)} s busy of ${wall.toFixed(1)} s ==`, "by area (share of busy time):"];
  for (const [a, us] of [...areas].filter(([a]) => a !== "(idle)").sort((x, y) => y[1] - x[1]).slice(0, 12)) lines.push(`  ${pct(us)}  ${a}`);
  lines.push(`top ${top} functions by self time:`);
  for (const [k, us] of [...fns].sort((x, y) => y[1] - x[1]).slice(0, top)) lines.push(`  ${pct(us)}  ${k}`);
  if (callers) lines.push(...callerPaths(p, self, callers, top));
  return lines.join("\n");
}

const args = process.argv.slice(2);
const topAt = args.indexOf("--top");
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) || 15 : 15;
const callersAt = args.indexOf("--callers");
const callers = callersAt >= 0 ? (args.splice(callersAt, 2)[1] ?? null) : null;
const files = args.flatMap((a) => (statSync(a).isDirectory() ? readdirSync(a).filter((f) => f.endsWith(".cpuprofile")).map((f) => join(a, f)) : [a]));
if (files.length === 0) {
  process.stderr.write("usage: profile-summary DIR|FILE... [--top N] [--callers FUNCTION]\n");
  process.exit(2);
}
for (const f of files.sort()) process.stdout.write(summarise(f, top, callers) + "\n\n");
