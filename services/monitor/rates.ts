import type { ProcessRole } from "./api-types.js";
import { isCounter } from "../../shared/stats-schema.js";

interface Sample {
  ts: number;
  counters: Record<string, number>;
}

/**
 * Per-second rates of one process's counters, from its two latest samples. Timestamps are the
 * sender's own (beat `Ts` or heartbeat `ts`), so both ends of an interval come from one clock and
 * the monitor's receive jitter does not show up as rate noise.
 */
export class RateTracker {
  private last: Sample | null = null;
  private current: Record<string, number> = {};

  constructor(private readonly role: ProcessRole) {}

  /** Feed one sample; a repeat of the previous timestamp is ignored. */
  update(ts: number, stats: Record<string, number>): void {
    const counters: Record<string, number> = {};
    for (const [k, v] of Object.entries(stats)) if (isCounter(this.role, k) && Number.isFinite(v)) counters[k] = v;
    const prev = this.last;
    if (prev && ts <= prev.ts) return;
    this.last = { ts, counters };
    if (!prev) return;
    const dt = (ts - prev.ts) / 1000;
    const rates: Record<string, number> = {};
    for (const [k, v] of Object.entries(counters)) {
      const before = prev.counters[k];
      // A counter that went backwards means the process restarted; its first interval is unknown.
      if (before === undefined || v < before) continue;
      rates[k] = (v - before) / dt;
    }
    this.current = rates;
  }

  /** Latest rates; empty until two samples have been seen. */
  get rates(): Record<string, number> {
    return this.current;
  }

  /** Sender time of the last sample, for staleness checks. */
  get lastTs(): number | null {
    return this.last?.ts ?? null;
  }

  reset(): void {
    this.last = null;
    this.current = {};
  }
}
