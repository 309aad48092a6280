/**
 * With --trace-dir the tool traces its own side too: the largest send-to-delivery latency per
 * 100 ms, as `delivery` events in DIR/bench-<pid>.jsonl, so the timeline shows a spike and its
 * cause (a GC pause, a lagging loop, a slow commit) on one time axis. Off unless main.ts sets it.
 */
import type { Tracer } from "../../shared/trace/tracer.js";

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
