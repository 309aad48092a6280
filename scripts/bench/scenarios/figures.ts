/** Turning a load run into the flat figures, notes and failures of a ScenarioOutput. */
import type { BenchCodec } from "../bench-conn.js";
import type { LoadResult } from "../load.js";
import type { LatencySummary } from "../latency.js";
import { round } from "../proc-stats.js";
import type { ScenarioOutput } from "./context.js";

export function latencyMetrics(prefix: string, l: LatencySummary): Record<string, number> {
  return {
    [`${prefix}.p50Ms`]: l.p50Ms,
    [`${prefix}.p90Ms`]: l.p90Ms,
    [`${prefix}.p99Ms`]: l.p99Ms,
    [`${prefix}.p999Ms`]: l.p999Ms,
    [`${prefix}.maxMs`]: l.maxMs,
  };
}

export function loadFigures(r: LoadResult, codec: BenchCodec): Omit<ScenarioOutput, "params"> {
  const c = r.check;
  const metrics: Record<string, number> = {
    sent: c.sent,
    acked: c.acked,
    rejected: c.rejected,
    unanswered: c.unanswered,
    expectedDeliveries: c.expected,
    delivered: c.delivered,
    lost: c.lost,
    duplicated: c.duplicated,
    outOfOrder: c.outOfOrder,
    misdelivered: c.misdelivered,
    deliveredUnacked: c.deliveredUnacked,
    windowSec: round(r.windowSec, 2),
    drainSec: round(r.drainSec, 2),
    ackedPerSec: Math.round(r.ackedPerSec),
    deliveredPerSec: Math.round(r.deliveredPerSec),
    ...latencyMetrics("latency", r.latency),
    ...latencyMetrics("ackLatency", r.ackLatency),
  };
  const notes: string[] = [];
  if (r.offeredPerSec > 0) {
    metrics.offeredPerSec = r.offeredPerSec;
    metrics.issuedPerSec = Math.round(r.issuedPerSec);
    if (r.skippedBacklog > 0) notes.push(`${r.skippedBacklog} scheduled sends skipped: their sender already had too many awaiting OK (offered load not met)`);
  }
  if (codec === "packet") {
    notes.push("packet codec: v1 framing has no OK replies, so 'acked' means written to the socket, not stored; ack latency is time to the kernel");
  }
  const errs = Object.entries(r.errors);
  if (errs.length > 0) notes.push(`errors: ${errs.map(([k, v]) => `${k} x${v}`).join(", ")}`);
  if (r.stalled) notes.push(`no reply for --drain-ms while sends were outstanding: sending was abandoned (cluster wedged?)`);
  if (r.drainEnd === "cap") notes.push(`drain stopped at --drain-max-ms with deliveries still arriving: "lost" may include late messages`);
  if (r.drainEnd === "quiet" && (c.lost > 0 || c.unanswered > 0)) notes.push(`drain ended after --drain-ms without any reply or delivery`);
  if (c.unanswered > 0) notes.push(`${c.unanswered} sends got no reply before the drain timeout`);
  for (const s of c.lostSamples.slice(0, 3)) notes.push(`lost: sender #${s.sender} seq ${s.seq} to #${s.recipient}`);
  return { metrics, load: r, latency: r.latency, notes, failures: c.failures };
}
