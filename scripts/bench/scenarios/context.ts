/** What every scenario gets and gives back. */
import type { BenchOptions } from "../options.js";
import type { Meter, NamedProc } from "../proc-stats.js";
import type { Target } from "../target.js";
import type { LoadResult } from "../load.js";
import type { LatencySummary } from "../latency.js";

export interface ScenarioContext {
  opts: BenchOptions;
  target: Target;
  procs: readonly NamedProc[];
  /** CPU over the measurement window: the scenario calls begin() and end(). */
  meter: Meter;
  /** Unique per run: prefix of client ids and topic names, so runs against one cluster never collide. */
  tag: string;
  progress(msg: string): void;
}

export interface ScenarioOutput {
  /** What was run (sizes, pairing, mode), for the report header. */
  params: Record<string, string | number>;
  /** Flat numeric figures; medians and compare ratios are taken key by key. */
  metrics: Record<string, number>;
  load?: LoadResult;
  latency?: LatencySummary;
  notes: string[];
  /** Correctness failures (lost, duplicated, ...): any makes the tool exit non-zero. */
  failures: string[];
}
