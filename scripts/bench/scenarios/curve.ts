/**
 * curve: the p2p cross-server latency curve (issue 13). One cluster, one p2p step per offered
 * load of --loads (1k, 5k, 10k, 15k, 20k msg/s), each with fresh clients, its own warm-up and
 * drain, and its own CPU window: /proc/<pid>/stat of every cluster process (Redis included) is
 * read at the start and end of each step's measurement window, so CPU per delivered message
 * belongs to that load alone. The steps run from the lightest load up, so a step's backlog is
 * drained before the next one starts.
 */
import { Meter } from "../proc-stats.js";
import { cpuUsPerDelivered, type CurveStep, stepMetrics } from "../curve-report.js";
import type { ScenarioContext, ScenarioOutput } from "./context.js";
import { runP2P } from "./p2p.js";

const TOTALS = ["sent", "acked", "delivered", "lost", "duplicated", "outOfOrder", "misdelivered", "unanswered", "rejected"] as const;

export async function runCurve(ctx: ScenarioContext): Promise<ScenarioOutput> {
  const { opts } = ctx;
  const metrics: Record<string, number> = Object.fromEntries(TOTALS.map((k) => [k, 0]));
  const notes: string[] = [];
  const failures: string[] = [];
  // The run-wide window (and the --cpu-prof toggle) spans all steps.
  ctx.meter.begin();
  for (const [i, load] of opts.loads.entries()) {
    const meter = new Meter(ctx.procs);
    ctx.progress(`curve step ${i + 1}/${opts.loads.length}: ${load} msg/s`);
    const out = await runP2P({ ...ctx, opts: { ...opts, rate: load }, meter, tag: `${ctx.tag}s${i}` });
    const m = out.metrics;
    const delivered = (m.deliveredPerSec ?? 0) * (m.windowSec ?? 0);
    const step: CurveStep = {
      offered: load,
      p50Ms: m["latency.p50Ms"] ?? Number.NaN,
      p99Ms: m["latency.p99Ms"] ?? Number.NaN,
      p999Ms: m["latency.p999Ms"] ?? Number.NaN,
      deliveredPerSec: m.deliveredPerSec ?? Number.NaN,
      cpuUsPerMsg: cpuUsPerDelivered(meter.figures(), delivered),
      lost: m.lost ?? 0,
    };
    Object.assign(metrics, stepMetrics(step));
    for (const k of TOTALS) metrics[k] = (metrics[k] ?? 0) + (m[k] ?? 0);
    for (const n of out.notes) notes.push(`${load}/s: ${n}`);
    for (const f of out.failures) failures.push(`${load}/s: ${f}`);
  }
  ctx.meter.end();
  return {
    params: { clients: opts.clients - (opts.clients % 2), pairing: opts.pairing, loads: opts.loads.join(","), stepSec: opts.durationSec, bodyBytes: opts.bodyBytes },
    metrics,
    notes,
    failures,
  };
}
