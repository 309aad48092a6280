/**
 * What the runtime does to latency, as trace events (see tracer.ts):
 * - `gc`: every garbage collection pause, from perf_hooks' 'gc' entries (`ms` = its duration,
 *   `kind` = scavenge | mark-sweep | incremental | weakcb, `t` = when it started).
 * - `lag`: event-loop delay every LAG_SAMPLE_MS, from monitorEventLoopDelay (max and p99 of the
 *   delays seen in that interval, ms): how long a ready callback waited for the loop.
 * Installed only when tracing is on; stop() removes both.
 */
import { constants, monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import type { Tracer } from "./tracer.js";

const LAG_SAMPLE_MS = 100;
/** Histogram resolution of monitorEventLoopDelay, ms. */
const LAG_RESOLUTION_MS = 5;

const GC_KIND: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: "scavenge",
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "mark-sweep",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb",
};

export function gcKindName(kind: number): string {
  return GC_KIND[kind] ?? `kind${kind}`;
}

export function traceRuntime(tracer: Tracer): { stop(): void } {
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? -1;
      tracer.emit({ type: "gc", kind: gcKindName(kind), ms: Math.round(e.duration * 1000) / 1000 }, performance.timeOrigin + e.startTime);
    }
  });
  gc.observe({ entryTypes: ["gc"] });
  const h = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  h.enable();
  const timer = setInterval(() => {
    if (h.count > 0) {
      // The histogram's values include the sampling resolution itself: subtract it, as Node's docs suggest.
      const ms = (ns: number) => Math.max(0, Math.round((ns / 1e6 - LAG_RESOLUTION_MS) * 1000) / 1000);
      tracer.emit({ type: "lag", maxMs: ms(h.max), p99Ms: ms(h.percentile(99)) });
    }
    h.reset();
  }, LAG_SAMPLE_MS);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      h.disable();
      gc.disconnect();
    },
  };
}
