import { monitorEventLoopDelay } from "node:perf_hooks";

const LAG_RESOLUTION_MS = 10;

/**
 * Counters (monotonic, so a reader derives rates from two samples) and gauges of one msg_server.
 * Published in the /sysctrl/monitor beat and the registry heartbeat; names are documented in
 * docs/ARCHITECTURE.md.
 */
export class MsgServerStats {
  logins = 0;
  logouts = 0;
  kicks = 0;
  msgsIn = 0;
  topicMsgsIn = 0;
  msgsOut = 0;
  topicDeliveries = 0;
  routedOut = 0;
  routedIn = 0;
  topicRoutedOut = 0;
  topicRoutedIn = 0;
  routeNacks = 0;
  acks = 0;
  errors = 0;
  protocolErrors = 0;
  slowConsumers = 0;
  idleTimeouts = 0;
  storePulls = 0;
  private readonly lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });

  constructor() {
    this.lag.enable();
  }

  snapshot(gauges: Record<string, number>): Record<string, number> {
    const mem = process.memoryUsage();
    // The histogram records whole timer intervals; the lag is what exceeds the sampling resolution.
    const lagMs = Math.max(0, this.lag.mean / 1e6 - LAG_RESOLUTION_MS);
    const lagMaxMs = Math.max(0, this.lag.max / 1e6 - LAG_RESOLUTION_MS);
    this.lag.reset();
    return {
      ...gauges,
      logins: this.logins,
      logouts: this.logouts,
      kicks: this.kicks,
      msgsIn: this.msgsIn,
      topicMsgsIn: this.topicMsgsIn,
      msgsOut: this.msgsOut,
      topicDeliveries: this.topicDeliveries,
      routedOut: this.routedOut,
      routedIn: this.routedIn,
      topicRoutedOut: this.topicRoutedOut,
      topicRoutedIn: this.topicRoutedIn,
      routeNacks: this.routeNacks,
      acks: this.acks,
      errors: this.errors,
      protocolErrors: this.protocolErrors,
      slowConsumers: this.slowConsumers,
      idleTimeouts: this.idleTimeouts,
      storePulls: this.storePulls,
      eventLoopLagMs: Number.isFinite(lagMs) ? Math.round(lagMs * 100) / 100 : 0,
      eventLoopLagMaxMs: Number.isFinite(lagMaxMs) ? Math.round(lagMaxMs * 100) / 100 : 0,
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      uptimeMs: Math.round(process.uptime() * 1000),
    };
  }
}
