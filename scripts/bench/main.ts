/**
 * FishChat load tool: `npm run bench -- <scenario> [options]` (scenarios p2p, topic, login,
 * idle, curve; `--help` lists the options, BENCHMARKS.md explains them and the figures).
 *
 * Exit code: 0 when every run was correct, 1 when any run lost, duplicated, reordered or
 * misdelivered an acknowledged message (correctness is a hard failure; speed is a report),
 * 2 when the tool could not run (bad options, cluster did not start).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseOptions, type BenchOptions, type Scenario } from "./options.js";
import { Meter } from "./proc-stats.js";
import { childPids, openTarget, type Target, type TargetSpec } from "./target.js";
import { setBenchTls, setTokenSource } from "./bench-conn.js";
import { formatRun, formatSummary, machine, medians, processMetrics, type RunResult } from "./report.js";
import type { ScenarioContext, ScenarioOutput } from "./scenarios/context.js";
import { runP2P } from "./scenarios/p2p.js";
import { runTopic } from "./scenarios/topic.js";
import { runLogin } from "./scenarios/login.js";
import { runIdle } from "./scenarios/idle.js";
import { runCurve } from "./scenarios/curve.js";
import { cpuUsPerDelivered, formatCurve, stepsOf } from "./curve-report.js";
import { curveSvg } from "./curve-svg.js";
import { enableServiceTraces, renderTraces } from "./trace-run.js";

const RUNNERS: Record<Scenario, (ctx: ScenarioContext) => Promise<ScenarioOutput>> = {
  p2p: runP2P,
  topic: runTopic,
  login: runLogin,
  idle: runIdle,
  curve: runCurve,
};

/** Other work on the machine above this (% of one core) during a run makes its speed figures suspect. */
const BUSY_MACHINE_PCT = 25;

const started = Date.now();
const progress = (msg: string) => process.stderr.write(`[bench +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);

/** The target of the run in progress, so Ctrl-C still stops the cluster we started. */
let current: Target | null = null;

async function runOnce(opts: BenchOptions, spec: TargetSpec, run: number): Promise<RunResult> {
  progress(`run ${run + 1}/${opts.runs}: starting ${spec.kind === "dist" ? `a cluster from ${spec.dist}` : `against ${spec.gateway}`}`);
  const target = await openTarget(spec);
  current = target;
  setTokenSource(target.token ? (id) => target.token!(id) : null);
  setBenchTls(target.tlsCa ?? null);
  try {
    const procs = [...(await target.procs()), { name: "bench", pid: process.pid }];
    // --cpu-prof: SIGUSR2 toggles the profiler hook in every service (not redis, not us).
    const services = procs.filter((p) => p.name !== "redis" && p.name !== "bench");
    const meter = new Meter(procs, opts.cpuProfDir ? () => services.forEach((p) => process.kill(p.pid, "SIGUSR2")) : null);
    const tag = `b${Date.now().toString(36)}${run}`;
    const out = await RUNNERS[opts.scenario]({ opts, target, procs, meter, tag, progress });
    const processes = meter.figures();
    const m = out.metrics;
    // Messages delivered inside the CPU window (p2p, topic): the cluster's CPU per delivery.
    if (m.deliveredPerSec !== undefined && m.windowSec !== undefined) m.cpuUsPerDelivered = cpuUsPerDelivered(processes, m.deliveredPerSec * m.windowSec);
    const other = processes.find((p) => p.pid === 0);
    if (other && other.cpuPct > BUSY_MACHINE_PCT) {
      out.notes.push(`machine busy: other processes used ${other.cpuPct}% CPU (of one core) during the window; treat this run's speed figures as unreliable`);
    }
    return {
      scenario: opts.scenario,
      target: target.label,
      run,
      codec: opts.codec,
      params: out.params,
      metrics: { ...out.metrics, ...processMetrics(processes) },
      processes,
      latency: out.latency,
      notes: out.notes,
      failures: out.failures,
    };
  } finally {
    current = null;
    await target.close();
  }
}

/** Services inherit our environment: preload the profiler hook into each (see cpu-profile-hook.ts). */
function enableServiceProfiles(dir: string): void {
  const hook = join(import.meta.dirname, "cpu-profile-hook.js");
  process.env.FISHCHAT_CPU_PROF_DIR = dir;
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --import ${hook}`.trim();
  progress(`CPU profiles of the services go to ${dir}; summarise with: node ${join(import.meta.dirname, "profile-summary.js")} ${dir}`);
}

async function main(): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseOptions(process.argv);
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    return 2;
  }
  if (opts.cpuProfDir) enableServiceProfiles(opts.cpuProfDir);
  if (opts.traceDir) enableServiceTraces(opts.traceDir, progress);
  const results: RunResult[] = [];
  // A B A B ...: both targets see the same machine state (thermal, page cache, other load) in turn.
  for (let run = 0; run < opts.runs; run++) {
    for (const spec of opts.targets) {
      const r = await runOnce(opts, spec, run);
      results.push(r);
      process.stdout.write(formatRun(r) + "\n");
    }
  }
  const byTarget = new Map<string, RunResult[]>();
  for (const r of results) byTarget.set(r.target, [...(byTarget.get(r.target) ?? []), r]);
  if (results.length > 1) process.stdout.write(formatSummary(byTarget));
  if (opts.scenario === "curve") writeCurve(opts, byTarget);
  if (opts.traceDir) progress(`trace timeline: ${renderTraces(opts.traceDir)}`);
  if (opts.json) {
    const med = Object.fromEntries([...byTarget].map(([t, rs]) => [t, medians(rs)]));
    const { targets, ...options } = opts;
    writeFileSync(opts.json, JSON.stringify({ tool: "fishchat-bench", machine: machine(), options, targets: targets.map((t) => t.label), runs: results, medians: med }, null, 2) + "\n");
    progress(`results written to ${opts.json}`);
  }
  const failed = results.filter((r) => r.failures.length > 0);
  if (failed.length > 0) {
    process.stdout.write(`FAILED: ${failed.length} of ${results.length} runs were not correct\n`);
    return 1;
  }
  return 0;
}

/** The curve's medians per target as a table (with B/A when comparing), and the chart with --svg. */
function writeCurve(opts: BenchOptions, byTarget: Map<string, RunResult[]>): void {
  const series = [...byTarget].map(([label, rs]) => ({ label, steps: stepsOf(medians(rs)) }));
  const runs = byTarget.values().next().value?.length ?? 0;
  process.stdout.write(`== latency curve (p2p ${opts.pairing}, medians of ${runs} run${runs === 1 ? "" : "s"}; latency send to delivery) ==\n`);
  process.stdout.write(`${formatCurve(series[0]!.steps, series[1]?.steps)}\n`);
  if (series[1]) process.stdout.write(`A = ${series[0]!.label}; B = ${series[1].label}\n`);
  if (opts.svg) {
    writeFileSync(opts.svg, curveSvg(series, `p2p ${opts.pairing}-server latency curve, ${opts.clients} clients, ${opts.durationSec} s per step`));
    progress(`chart written to ${opts.svg}`);
  }
}

process.on("SIGINT", () => {
  progress("interrupted; stopping the cluster");
  // Mid-start there is no Target yet: then stop our child processes (the cluster being launched).
  const stop = current ? current.close() : Promise.resolve(childPids().forEach((pid) => process.kill(pid, "SIGKILL")));
  void stop.finally(() => process.exit(130));
});

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    void (current?.close() ?? Promise.resolve()).finally(() => process.exit(2));
  },
);
