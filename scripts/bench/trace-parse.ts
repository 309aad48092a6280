/**
 * Reading the traces of `--trace-dir` (shared/trace/tracer.ts writes them): JSON lines with `t`
 * (Unix ms) and `type`. Lines that are not a JSON object with both are skipped and counted (a
 * process killed mid-write leaves a torn last line). Pure apart from reading the files.
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";

export interface TraceRecord {
  t: number;
  type: string;
  [field: string]: unknown;
}

export interface TraceFile {
  /** The file's name without `.jsonl`: `msg_server-1234`. */
  name: string;
  events: TraceRecord[];
  badLines: number;
}

export function parseTrace(name: string, text: string): TraceFile {
  const events: TraceRecord[] = [];
  let badLines = 0;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const v = JSON.parse(line) as unknown;
      if (v && typeof v === "object" && typeof (v as TraceRecord).t === "number" && typeof (v as TraceRecord).type === "string") events.push(v as TraceRecord);
      else badLines++;
    } catch {
      badLines++;
    }
  }
  events.sort((a, b) => a.t - b.t);
  return { name, events, badLines };
}

export function readTraceDir(dir: string): TraceFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".jsonl"))
    .sort()
    .map((f) => parseTrace(basename(f, ".jsonl"), readFileSync(join(dir, f), "utf8")));
}

/** Numeric field of a record, or NaN. */
export const num = (r: TraceRecord, k: string): number => (typeof r[k] === "number" ? (r[k] as number) : Number.NaN);

export interface TraceStats {
  name: string;
  gcCount: number;
  gcTotalMs: number;
  gcMaxMs: number;
  lagMaxMs: number;
  commits: number;
  commitMaxMs: number;
  writesPerCommit: number;
  /** The tool's own lane: the largest send-to-delivery latency it saw. */
  deliveryMaxMs: number;
}

/** A line of figures per trace file: what the timeline shows, in numbers. */
export function traceStats(f: TraceFile): TraceStats {
  // Loops, not Math.max(...spread): a long run has more events than a call can take arguments.
  const max = (vs: number[]) => vs.reduce((m, v) => (Number.isFinite(v) && v > m ? v : m), 0);
  const gc = f.events.filter((e) => e.type === "gc").map((e) => num(e, "ms")).filter(Number.isFinite);
  const lag = f.events.filter((e) => e.type === "lag").map((e) => num(e, "maxMs")).filter(Number.isFinite);
  const commits = f.events.filter((e) => e.type === "commit");
  const writes = commits.reduce((s, e) => s + (num(e, "writes") || 0), 0);
  const r = (v: number) => Math.round(v * 100) / 100;
  return {
    name: f.name,
    gcCount: gc.length,
    gcTotalMs: r(gc.reduce((s, v) => s + v, 0)),
    gcMaxMs: r(max(gc)),
    lagMaxMs: r(max(lag)),
    commits: commits.length,
    commitMaxMs: r(max(commits.map((e) => num(e, "ms")))),
    writesPerCommit: commits.length > 0 ? r(writes / commits.length) : 0,
    deliveryMaxMs: r(max(f.events.filter((e) => e.type === "delivery").map((e) => num(e, "maxMs")))),
  };
}
