import type { ServerSeries } from "./api-types.js";

// Which stats are counters and which are gauges is the stats schema's business (shared/stats-schema.ts).

const sum = (o: Record<string, number>, names: readonly string[]): number => names.reduce((a, n) => a + (o[n] ?? 0), 0);

/** Message counters grouped the way an operator reads them: into the server, out to clients, between servers. */
export const MSGS_IN = ["msgsIn", "topicMsgsIn"] as const;
export const MSGS_OUT = ["msgsOut", "topicDeliveries"] as const;
export const ROUTED_OUT = ["routedOut", "topicRoutedOut"] as const;
export const ROUTED_IN = ["routedIn", "topicRoutedIn"] as const;
export const ERRORS = ["errors", "protocolErrors"] as const;

/** Client connections of a msg_server; one that predates `clientConnections` reports all of them as `connections`. */
export function clientConnections(stats: Record<string, number>): number {
  return stats.clientConnections ?? stats.connections ?? 0;
}

/** One msg_server's chart values from its latest stats and rates. */
export function serverPoint(stats: Record<string, number>, rates: Record<string, number>): Record<ServerSeries, number> {
  return {
    sessions: stats.sessions ?? stats.SessionNum ?? 0,
    connections: clientConnections(stats),
    msgsInPerSec: sum(rates, MSGS_IN),
    msgsOutPerSec: sum(rates, MSGS_OUT),
    routedOutPerSec: sum(rates, ROUTED_OUT),
    routedInPerSec: sum(rates, ROUTED_IN),
    outboundBytes: stats.outboundBytes ?? 0,
    // p2p messages delivered to online clients and not yet acknowledged (offline inboxes are not counted).
    unackedDeliveries: stats.unackedDeliveries ?? 0,
    errorsPerSec: sum(rates, ERRORS),
    eventLoopLagMs: stats.eventLoopLagMs ?? 0,
    rssBytes: stats.rssBytes ?? 0,
  };
}
