/**
 * Latency histogram over hdr-histogram-js: values in microseconds, 3 significant digits (0.1%
 * error at any magnitude), up to two minutes. A value past that is clamped rather than dropped,
 * so a pathological stall still shows up in max and the tail.
 */
import * as hdr from "hdr-histogram-js";
import { round } from "./proc-stats.js";

const HIGHEST_US = 120_000_000; // 2 minutes

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

export class Latency {
  private readonly h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3 });

  record(us: number): void {
    this.h.recordValue(us < 1 ? 1 : us > HIGHEST_US ? HIGHEST_US : Math.round(us));
  }

  summary(): LatencySummary {
    const ms = (us: number) => round(us / 1000, 3);
    const h = this.h;
    return {
      count: h.totalCount,
      // Percentiles report the top of their bucket; never let one exceed the exact maximum.
      p50Ms: ms(Math.min(h.maxValue, h.getValueAtPercentile(50))),
      p90Ms: ms(Math.min(h.maxValue, h.getValueAtPercentile(90))),
      p99Ms: ms(Math.min(h.maxValue, h.getValueAtPercentile(99))),
      p999Ms: ms(Math.min(h.maxValue, h.getValueAtPercentile(99.9))),
      maxMs: ms(h.maxValue),
      meanMs: ms(h.totalCount > 0 ? h.mean : 0),
    };
  }
}
