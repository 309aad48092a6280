/**
 * --trace-dir DIR: every msg_server and router the tool starts traces itself into
 * DIR/<service>-<pid>.jsonl (they inherit FISHCHAT_TRACE_FILE), the tool adds its own delivery
 * latency (delivery-trace.ts), and after the runs DIR/timeline.svg shows them all on one time
 * axis, with a line of figures per process on stderr. Use it with --runs 1: several runs put
 * several clusters' lanes on one axis.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TRACE_ENV } from "../../shared/trace/from-env.js";
import { Tracer } from "../../shared/trace/tracer.js";
import { flushDeliveryTrace, setDeliveryTracer } from "./delivery-trace.js";
import { readTraceDir, traceStats } from "./trace-parse.js";
import { timelineSvg } from "./trace-svg.js";

let own: Tracer | null = null;

export function enableServiceTraces(dir: string, progress: (msg: string) => void): void {
  mkdirSync(dir, { recursive: true });
  process.env[TRACE_ENV] = join(dir, "{service}-{pid}.jsonl");
  own = new Tracer(join(dir, `bench-${process.pid}.jsonl`), "bench");
  setDeliveryTracer(own);
  progress(`traces of the msg_servers and routers go to ${dir}`);
}

/** Render DIR/timeline.svg; returns its path and a figure line per traced process. */
export function renderTraces(dir: string): string {
  flushDeliveryTrace();
  setDeliveryTracer(null);
  own?.close();
  own = null;
  const files = readTraceDir(dir);
  const out = join(dir, "timeline.svg");
  writeFileSync(out, timelineSvg(files, `trace of ${files.length} processes (${dir})`));
  const lines = files.map((f) => {
    const s = traceStats(f);
    if (s.deliveryMaxMs > 0) return `${s.name}: delivery latency max ${s.deliveryMaxMs} ms`;
    return `${s.name}: gc ${s.gcCount} pauses, ${s.gcTotalMs} ms in all, longest ${s.gcMaxMs} ms; loop lag max ${s.lagMaxMs} ms; ${s.commits} commits, ${s.writesPerCommit} writes each, slowest ${s.commitMaxMs} ms${f.badLines ? `; ${f.badLines} unreadable lines` : ""}`;
  });
  return [out, ...lines].join("\n  ");
}
