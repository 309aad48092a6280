/**
 * --trace-dir DIR: every msg_server, router and gateway the tool starts traces itself into
 * DIR/<service>-<pid>.jsonl (they inherit FISHCHAT_TRACE_FILE), the tool adds its own delivery
 * latency (delivery-trace.ts), and after the runs DIR/timeline.svg shows them all on one time
 * axis, with a line of figures per process on stderr. Trace files of an earlier invocation in DIR
 * are removed first. Use it with --runs 1: several runs put several clusters' lanes on one axis.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TRACE_ENV } from "../../shared/trace/from-env.js";
import { Tracer } from "../../shared/trace/tracer.js";
import { setHopTracer } from "../../shared/trace/hops.js";
import { flushDeliveryTrace, setDeliveryTracer } from "./delivery-trace.js";
import { hopBreakdown, hopTable } from "./hop-breakdown.js";
import { readTraceDir, traceStats } from "./trace-parse.js";
import { timelineSvg } from "./trace-svg.js";

let own: Tracer | null = null;

export function enableServiceTraces(dir: string, progress: (msg: string) => void): void {
  mkdirSync(dir, { recursive: true });
  // Traces of an earlier invocation would stretch this run's time axis: the tool's own files go.
  const stale = readdirSync(dir).filter((f) => /^(msg_server|router|gateway|bench)-\d+\.jsonl$/.test(f) || f === "timeline.svg");
  for (const f of stale) rmSync(join(dir, f));
  if (stale.length > 0) progress(`removed ${stale.length} trace files of an earlier run from ${dir}`);
  process.env[TRACE_ENV] = join(dir, "{service}-{pid}.jsonl");
  own = new Tracer(join(dir, `bench-${process.pid}.jsonl`), "bench");
  setDeliveryTracer(own);
  setHopTracer(own);
  progress(`traces of the msg_servers, routers and gateway go to ${dir}`);
}

/** Render DIR/timeline.svg; returns its path and a figure line per traced process. */
export function renderTraces(dir: string): string {
  flushDeliveryTrace();
  setDeliveryTracer(null);
  setHopTracer(null);
  own?.close();
  own = null;
  // A lane needs something to draw: the tool's own file is empty when nothing was delivered (login, idle).
  const files = readTraceDir(dir).filter((f) => f.events.some((e) => e.type !== "start" && e.type !== "stop"));
  const out = join(dir, "timeline.svg");
  writeFileSync(out, timelineSvg(files, `trace of ${files.length} processes (${dir})`));
  const lines = files.map((f) => {
    const s = traceStats(f);
    if (s.deliveryMaxMs > 0) return `${s.name}: delivery latency max ${s.deliveryMaxMs} ms`;
    return `${s.name}: gc ${s.gcCount} pauses, ${s.gcTotalMs} ms in all, longest ${s.gcMaxMs} ms; loop lag max ${s.lagMaxMs} ms; ${s.commits} commits, ${s.writesPerCommit} writes each, slowest ${s.commitMaxMs} ms${f.badLines ? `; ${f.badLines} unreadable lines` : ""}`;
  });
  const hops = hopBreakdown(files);
  const hopLines = hops.messages > 0 ? ["", ...hopTable(hops).split("\n")] : [];
  return [out, ...lines, ...hopLines].join("\n  ");
}
