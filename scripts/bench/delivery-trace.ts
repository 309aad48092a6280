/**
 * With --trace-dir the tool traces its own side too: the largest send-to-delivery latency per
 * 100 ms, as `delivery` events in DIR/bench-<pid>.jsonl, so the timeline shows a spike and its
 * cause (a GC pause, a lagging loop, a slow commit) on one time axis. Off unless main.ts sets it.
 */
import { hop } from "../../shared/trace/hops.js";
import { type Tracer, traceNow } from "../../shared/trace/tracer.js";
import { decodeBody } from "./body.js";

const BUCKET_US = 100_000;

let tracer: Tracer | null = null;
let bucket = -1;
let maxUs = 0;
let count = 0;

export function setDeliveryTracer(t: Tracer | null): void {
  tracer = t;
}

/** A delivery received at recvUs (nowUs() clock, i.e. performance.now() in µs) after latencyUs. */
export function traceDelivery(recvUs: number, latencyUs: number): void {
  if (!tracer) return;
  const b = Math.floor(recvUs / BUCKET_US);
  if (b !== bucket) {
    flushBucket();
    bucket = b;
  }
  if (latencyUs > maxUs) maxUs = latencyUs;
  count++;
}

function flushBucket(): void {
  if (tracer && count > 0) tracer.emit({ type: "delivery", maxMs: Math.round(maxUs) / 1000, n: count }, performance.timeOrigin + ((bucket + 1) * BUCKET_US) / 1000);
  maxUs = 0;
  count = 0;
}

export function flushDeliveryTrace(): void {
  flushBucket();
}

/**
 * The two ends of a sampled message's life (shared/trace/hops.ts), from the tool's side: its
 * planned send time, from the body, and now. Called only for a message hopSampled() picked;
 * the services' hops of a message without ends are ignored by the breakdown.
 */
export function traceHopEnds(uuid: string, body: string, measured: (sendUs: number) => boolean): void {
  const f = decodeBody(body);
  // The warm-up's messages are left out, as from the latency figures.
  if (!f || !measured(f.sendUs)) return;
  hop(uuid, "sched", performance.timeOrigin + f.sendUs / 1000);
  hop(uuid, "delivered", traceNow());
}
