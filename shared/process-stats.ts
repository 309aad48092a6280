import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";

const LAG_RESOLUTION_MS = 10;
/** Length of one event-loop lag window. */
const WINDOW_MS = 1000;

export interface ProcessGauges {
  rssBytes: number;
  heapUsedBytes: number;
  uptimeMs: number;
  eventLoopLagMs: number;
  eventLoopLagMaxMs: number;
}

const round2 = (x: number) => (Number.isFinite(x) ? Math.round(x * 100) / 100 : 0);

/**
 * The process-level gauges every FishChat process reports (memory, uptime, event-loop lag). The
 * lag is measured over fixed windows closed by this object's own timer, so reading the stats
 * (STATS requests, heartbeats, beats) never resets or skews what another reader sees.
 */
export class ProcessStats {
  private readonly lag: IntervalHistogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  private lagMs = 0;
  private lagMaxMs = 0;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.lag.enable();
    this.timer = setInterval(() => this.closeWindow(), WINDOW_MS);
    this.timer.unref();
  }

  private closeWindow(): void {
    // The histogram records whole timer intervals; the lag is what exceeds the sampling resolution.
    this.lagMs = round2(Math.max(0, this.lag.mean / 1e6 - LAG_RESOLUTION_MS));
    this.lagMaxMs = round2(Math.max(0, this.lag.max / 1e6 - LAG_RESOLUTION_MS));
    this.lag.reset();
  }

  read(): ProcessGauges {
    const mem = process.memoryUsage();
    return {
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      uptimeMs: Math.round(process.uptime() * 1000),
      eventLoopLagMs: this.lagMs,
      eventLoopLagMaxMs: this.lagMaxMs,
    };
  }

  stop(): void {
    clearInterval(this.timer);
    this.lag.disable();
  }
}

/** One per process: every reader shares the same windows. */
let shared: ProcessStats | null = null;
export function processStats(): ProcessStats {
  shared ??= new ProcessStats();
  return shared;
}
