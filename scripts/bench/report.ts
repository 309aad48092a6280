/**
 * Output of the load tool: one block per run, a table of medians when there are several runs,
 * the B/A ratios when two targets alternate, and the same data as JSON (--json FILE).
 */
import { cpus, totalmem } from "node:os";
import type { ProcessFigure } from "./proc-stats.js";
import type { LatencySummary } from "./latency.js";
import { formatCurve, isStepKey, stepsOf } from "./curve-report.js";

export interface RunResult {
  scenario: string;
  target: string;
  run: number;
  codec: string;
  params: Record<string, string | number>;
  /** Flat figures, process CPU and memory included ("cpuSec:router"), so medians and ratios go key by key. */
  metrics: Record<string, number>;
  processes: ProcessFigure[];
  latency?: LatencySummary;
  notes: string[];
  failures: string[];
}

export function machine() {
  const c = cpus();
  return { cpus: c.length, cpuModel: c[0]?.model ?? "?", memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform };
}

const fmt = (v: number | undefined): string => {
  if (v === undefined || Number.isNaN(v)) return "-";
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  return Math.abs(v) >= 100 ? Math.round(v).toLocaleString("en-US") : String(Math.round(v * 1000) / 1000);
};

function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")).join("\n");
}

const COUNT_KEYS = ["sent", "acked", "rejected", "unanswered", "expectedDeliveries", "delivered", "lost", "duplicated", "outOfOrder", "misdelivered", "deliveredUnacked"];

export function formatRun(r: RunResult): string {
  const lines: string[] = [];
  lines.push(`== ${r.scenario} run ${r.run + 1} on ${r.target} (${r.codec} codec) ==`);
  lines.push(Object.entries(r.params).map(([k, v]) => `${k} ${typeof v === "number" ? fmt(v) : v}`).join(" | "));
  const m = r.metrics;
  const rest: string[][] = [];
  if (m.sent !== undefined) {
    lines.push(COUNT_KEYS.map((k) => `${k} ${fmt(m[k])}`).join("  "));
    if (m.deliveredPerSec !== undefined) lines.push(`delivered/s ${fmt(m.deliveredPerSec)}  acked/s ${fmt(m.ackedPerSec)}  window ${fmt(m.windowSec)} s` + (m.offeredPerSec ? `  offered ${fmt(m.offeredPerSec)}/s issued ${fmt(m.issuedPerSec)}/s` : ""));
  }
  for (const [prefix, label] of [["latency", "latency ms"], ["ackLatency", "ack latency ms"]] as const) {
    if (m[`${prefix}.p50Ms`] === undefined) continue;
    lines.push(`${label.padEnd(15)} p50 ${fmt(m[`${prefix}.p50Ms`])}  p90 ${fmt(m[`${prefix}.p90Ms`])}  p99 ${fmt(m[`${prefix}.p99Ms`])}  p99.9 ${fmt(m[`${prefix}.p999Ms`])}  max ${fmt(m[`${prefix}.maxMs`])}`);
  }
  if (r.scenario === "curve") lines.push(formatCurve(stepsOf(m)));
  for (const [k, v] of Object.entries(m)) {
    if (isStepKey(k) || COUNT_KEYS.includes(k) || k.includes("atency.") || k.includes(":") || ["deliveredPerSec", "ackedPerSec", "windowSec", "offeredPerSec", "issuedPerSec"].includes(k)) continue;
    rest.push([k, fmt(v)]);
  }
  for (const [k, v] of Object.entries(m)) if (k.includes(":") && !/^(cpuSec|mainCpuSec|cpuPct|rssMB|peakRssMB):/.test(k)) rest.push([k, fmt(v)]);
  if (rest.length > 0) lines.push(table(rest));
  if (r.processes.length > 0) {
    const rows = [["process", "pid", "cpu s", "main s", "cpu %", "rss MB", "peak rss MB"]];
    for (const p of r.processes) {
      rows.push(
        p.pid === 0
          ? [p.name, "-", fmt(p.cpuSec), "-", fmt(p.cpuPct), "-", "-"]
          : [p.name, String(p.pid), fmt(p.cpuSec), fmt(p.mainCpuSec), fmt(p.cpuPct), fmt(p.rssMB), fmt(p.peakRssMB)],
      );
    }
    lines.push(table(rows));
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  if (m.sent === undefined) lines.push("correctness: not applicable (no messages in this scenario)");
  else lines.push(r.failures.length === 0 ? "correctness: OK" : `correctness: FAILED: ${r.failures.join("; ")}`);
  return lines.join("\n") + "\n";
}

export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** Median of every metric over the runs of one target. */
export function medians(runs: readonly RunResult[]): Record<string, number> {
  const keys = new Set<string>();
  for (const r of runs) for (const k of Object.keys(r.metrics)) keys.add(k);
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = median(runs.map((r) => r.metrics[k] ?? Number.NaN));
  return out;
}

/** Runs of each target side by side with their median; with two targets, the B/A ratio too. */
export function formatSummary(byTarget: Map<string, RunResult[]>): string {
  const targets = [...byTarget.keys()];
  const meds = targets.map((t) => medians(byTarget.get(t)!));
  const keys = new Set<string>();
  for (const m of meds) for (const k of Object.keys(m)) keys.add(k);
  const header = ["metric"];
  targets.forEach((t) => {
    byTarget.get(t)!.forEach((_, i) => header.push(`${targets.length > 1 ? t.split(" ")[0] + " " : ""}run ${i + 1}`));
    header.push(`${targets.length > 1 ? t.split(" ")[0] + " " : ""}median`);
  });
  if (targets.length === 2) header.push("B/A");
  const rows = [header];
  for (const k of keys) {
    if (isStepKey(k)) continue; // the curve's steps get a table of their own (main.ts)
    const row = [k];
    targets.forEach((t, ti) => {
      for (const r of byTarget.get(t)!) row.push(fmt(r.metrics[k]));
      row.push(fmt(meds[ti]![k]));
    });
    if (targets.length === 2) {
      const a = meds[0]![k];
      const b = meds[1]![k];
      row.push(a !== undefined && b !== undefined && a !== 0 && Number.isFinite(a) && Number.isFinite(b) ? (b / a).toFixed(2) : "-");
    }
    rows.push(row);
  }
  const legend = targets.map((t) => `${t}: ${byTarget.get(t)!.length} runs`).join("; ");
  return `== summary (${legend}) ==\n${table(rows)}\n`;
}

/** Process figures become metrics so they get medians and ratios like everything else. */
export function processMetrics(ps: readonly ProcessFigure[]): Record<string, number> {
  const out: Record<string, number> = {};
  let total = 0;
  for (const p of ps) {
    out[`cpuSec:${p.name}`] = p.cpuSec;
    if (p.pid === 0) continue; // "other (not ours)": CPU only
    out[`mainCpuSec:${p.name}`] = p.mainCpuSec;
    out[`peakRssMB:${p.name}`] = p.peakRssMB;
    if (p.name !== "bench") total += p.cpuSec;
  }
  if (ps.length > 0) out["cpuSec:cluster total"] = Math.round(total * 100) / 100;
  return out;
}
