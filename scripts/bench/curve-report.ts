/**
 * The latency curve's figures (issue 13): one step per offered load, flattened into run metrics
 * as `@<load>.<figure>` so medians and compare ratios work key by key like every other figure,
 * read back into steps for the table and the SVG chart (curve-svg.ts). Pure functions.
 */

export interface CurveStep {
  /** Offered load, msg/s. */
  offered: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  deliveredPerSec: number;
  /** Cluster CPU (every FishChat process plus Redis) per delivered message, µs. */
  cpuUsPerMsg: number;
  lost: number;
}

const FIGURES = ["p50Ms", "p99Ms", "p999Ms", "deliveredPerSec", "cpuUsPerMsg", "lost"] as const;

/** Step metrics as flat run metrics: `@5000.p99Ms`. */
export function stepMetrics(s: CurveStep): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of FIGURES) out[`@${s.offered}.${f}`] = s[f];
  return out;
}

export const isStepKey = (k: string): boolean => k.startsWith("@");

/** The steps back out of flat metrics (one run's, or the medians of several), by ascending load. */
export function stepsOf(m: Record<string, number>): CurveStep[] {
  const byLoad = new Map<number, Partial<CurveStep>>();
  for (const [k, v] of Object.entries(m)) {
    const hit = /^@(\d+(?:\.\d+)?)\.(\w+)$/.exec(k);
    if (!hit || !(FIGURES as readonly string[]).includes(hit[2]!)) continue;
    const offered = Number(hit[1]);
    const s = byLoad.get(offered) ?? { offered };
    (s as Record<string, number>)[hit[2]!] = v;
    byLoad.set(offered, s);
  }
  return [...byLoad.values()]
    .map((s) => ({ offered: s.offered!, p50Ms: s.p50Ms ?? Number.NaN, p99Ms: s.p99Ms ?? Number.NaN, p999Ms: s.p999Ms ?? Number.NaN, deliveredPerSec: s.deliveredPerSec ?? Number.NaN, cpuUsPerMsg: s.cpuUsPerMsg ?? Number.NaN, lost: s.lost ?? Number.NaN }))
    .sort((a, b) => a.offered - b.offered);
}

const cell = (v: number, digits = 2): string => {
  if (!Number.isFinite(v)) return "-";
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString("en-US");
  return String(Math.round(v * 10 ** digits) / 10 ** digits);
};

/** The curve as a text table, one row per load; with `other` (a second target), B/A ratios of p99 and CPU. */
export function formatCurve(steps: readonly CurveStep[], other?: readonly CurveStep[]): string {
  const head = ["offered/s", "p50 ms", "p99 ms", "p99.9 ms", "delivered/s", "cpu µs/msg", "lost"];
  if (other) head.push("B p99 ms", "B cpu µs/msg", "p99 B/A", "cpu B/A");
  const rows = [head];
  for (const s of steps) {
    const row = [s.offered.toLocaleString("en-US"), cell(s.p50Ms), cell(s.p99Ms), cell(s.p999Ms), cell(s.deliveredPerSec), cell(s.cpuUsPerMsg, 1), cell(s.lost)];
    if (other) {
      const b = other.find((x) => x.offered === s.offered);
      const ratio = (x: number | undefined, y: number) => (x !== undefined && Number.isFinite(x) && y > 0 ? (x / y).toFixed(2) : "-");
      row.push(cell(b?.p99Ms ?? Number.NaN), cell(b?.cpuUsPerMsg ?? Number.NaN, 1), ratio(b?.p99Ms, s.p99Ms), ratio(b?.cpuUsPerMsg, s.cpuUsPerMsg));
    }
    rows.push(row);
  }
  const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padStart(widths[i]!)).join("  ")).join("\n");
}

/** Cluster CPU per delivered message in µs: every process but the tool's own and "other". */
export function cpuUsPerDelivered(procs: readonly { name: string; pid: number; cpuSec: number }[], delivered: number): number {
  if (delivered <= 0) return Number.NaN;
  const sec = procs.filter((p) => p.pid !== 0 && p.name !== "bench").reduce((s, p) => s + p.cpuSec, 0);
  return Math.round((sec * 1e6 * 10) / delivered) / 10;
}
