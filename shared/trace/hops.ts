/**
 * The life of one message, hop by hop (issue 13): when tracing is on, a sample of p2p messages
 * writes a `hop` event at each step it passes (`{"type":"hop","id":"<uuid>","at":"commit"}`), in
 * every process it crosses, so the tool can lay one message's timestamps side by side and say
 * which step a slow delivery spent its time in (trace-parse.ts `hopBreakdown`).
 *
 * Which messages: those whose uuid's last four hex digits are a multiple of FISHCHAT_TRACE_HOPS
 * (default 16; 0 turns hops off). The uuid alone decides, so every process picks the same
 * messages without telling each other. Off (one null check per call site) unless a tracer is set.
 *
 * The steps, in order: `sched` (the tool's planned send time), `recv` (the msg_server's handler
 * runs), `commit` (the store's append resolved), `publish` (routed on to a router), `router-in`,
 * `router-out`, `routed-in` (the recipient's msg_server has it), `push` (the push is queued on the
 * recipient's connection), `delivered` (the tool read it).
 */
import { type Tracer, traceNow } from "./tracer.js";

export const HOP_ENV = "FISHCHAT_TRACE_HOPS";
export const HOP_ORDER = ["sched", "recv", "commit", "publish", "router-in", "router-out", "routed-in", "push", "delivered"] as const;
export type HopName = (typeof HOP_ORDER)[number];

let tracer: Tracer | null = null;
let every = 16;

/** Start (or, with null, stop) writing hops; `sampleEvery` from HOP_ENV unless given. */
export function setHopTracer(t: Tracer | null, sampleEvery = Number(process.env[HOP_ENV] ?? 16)): void {
  every = Number.isInteger(sampleEvery) && sampleEvery > 0 ? sampleEvery : 0;
  tracer = every > 0 ? t : null;
}

/** True while hops are written: call sites take a timestamp only then. */
export function hopsOn(): boolean {
  return tracer !== null;
}

export function hopSampled(uuid: string): boolean {
  if (tracer === null || uuid.length < 4) return false;
  const n = Number.parseInt(uuid.slice(-4), 16);
  return Number.isInteger(n) && n % every === 0;
}

/** Record that the sampled message `uuid` reached step `at` now (or at `t`, a traceNow() value). */
export function hop(uuid: string, at: HopName, t = traceNow()): void {
  if (tracer !== null && hopSampled(uuid)) tracer.emit({ type: "hop", id: uuid, at }, t);
}
