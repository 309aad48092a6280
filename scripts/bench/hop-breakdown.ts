/**
 * Where a message's latency goes: the sampled messages' `hop` events (shared/trace/hops.ts) of
 * every trace file, put together by message id. Each message's steps are taken in HOP_ORDER and
 * each gap between two consecutive steps it has is a segment (`recv→commit`: the store); a local
 * delivery has no router steps, so its segment is `commit→push`. For every segment: how many
 * messages had it, p50, p99, max, and its mean over the slowest 1% of messages, which says what
 * the tail is made of. Pure.
 */
import { HOP_ORDER } from "../../shared/trace/hops.js";
import type { TraceFile } from "./trace-parse.js";

export interface HopSegment {
  name: string;
  n: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Mean of this segment over the messages in the slowest 1% end to end (0 when none had it). */
  tailMeanMs: number;
}

export interface HopBreakdown {
  /** Sampled messages with both ends (`sched` and `delivered`). */
  messages: number;
  totalP50Ms: number;
  totalP99Ms: number;
  segments: HopSegment[];
}

const RANK = new Map<string, number>(HOP_ORDER.map((h, i) => [h, i]));

export function hopBreakdown(files: readonly TraceFile[]): HopBreakdown {
  const byId = new Map<string, Map<string, number>>();
  for (const f of files) {
    for (const e of f.events) {
      if (e.type !== "hop" || typeof e.id !== "string" || typeof e.at !== "string" || !RANK.has(e.at)) continue;
      let m = byId.get(e.id);
      if (!m) byId.set(e.id, (m = new Map()));
      // A redelivery repeats `push`: the first one is the delivery the tool timed.
      if (!m.has(e.at)) m.set(e.at, e.t);
    }
  }
  const lives: { total: number; segs: Map<string, number> }[] = [];
  for (const m of byId.values()) {
    const start = m.get("sched");
    const end = m.get("delivered");
    if (start === undefined || end === undefined) continue;
    const steps = [...m.entries()].sort((a, b) => RANK.get(a[0])! - RANK.get(b[0])!);
    const segs = new Map<string, number>();
    for (let i = 1; i < steps.length; i++) segs.set(`${steps[i - 1]![0]}→${steps[i]![0]}`, steps[i]![1] - steps[i - 1]![1]);
    lives.push({ total: end - start, segs });
  }
  const totals = lives.map((l) => l.total).sort((a, b) => a - b);
  const cut = totals.length > 0 ? pct(totals, 99) : 0;
  const tail = lives.filter((l) => l.total >= cut);
  const names = [...new Set(lives.flatMap((l) => [...l.segs.keys()]))].sort((a, b) => segRank(a) - segRank(b));
  const segments = names.map((name) => {
    const vs = lives.flatMap((l) => (l.segs.has(name) ? [l.segs.get(name)!] : [])).sort((a, b) => a - b);
    const tv = tail.flatMap((l) => (l.segs.has(name) ? [l.segs.get(name)!] : []));
    return { name, n: vs.length, p50Ms: r(pct(vs, 50)), p99Ms: r(pct(vs, 99)), maxMs: r(vs[vs.length - 1] ?? 0), tailMeanMs: r(tv.length > 0 ? tv.reduce((s, v) => s + v, 0) / tv.length : 0) };
  });
  return { messages: lives.length, totalP50Ms: r(pct(totals, 50)), totalP99Ms: r(cut), segments };
}

/** The breakdown as a table for the terminal and BENCHMARKS.md. */
export function hopTable(b: HopBreakdown): string {
  const head = `${b.messages} sampled messages, end to end p50 ${b.totalP50Ms} ms, p99 ${b.totalP99Ms} ms`;
  const rows = b.segments.map((s) => `${s.name.padEnd(22)} ${String(s.n).padStart(6)} ${fmt(s.p50Ms)} ${fmt(s.p99Ms)} ${fmt(s.maxMs)} ${fmt(s.tailMeanMs)}`);
  return [head, `${"segment".padEnd(22)} ${"n".padStart(6)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"max ms".padStart(8)} ${"tail ms".padStart(8)}`, ...rows].join("\n");
}

const segRank = (name: string): number => {
  const [a = "", b = ""] = name.split("→");
  return (RANK.get(a) ?? 99) * 100 + (RANK.get(b) ?? 99);
};

/** Nearest-rank percentile of an ascending array (0 when empty). */
function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const r = (v: number) => Math.round(v * 1000) / 1000;
const fmt = (v: number) => v.toFixed(3).padStart(8);
