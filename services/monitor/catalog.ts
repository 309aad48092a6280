import type { ProcessRole, ServerSeries } from "./api-types.js";

/**
 * Which reported stats are monotonic counters, per role (names from services/*: msg_server
 * stats.ts, gateway/router/manager `counters`). Everything else a process reports is a gauge.
 * Counters become per-second rates in the API and `_total` counters in /metrics.
 */
const COUNTERS: Record<ProcessRole, ReadonlySet<string>> = {
  msg_server: new Set([
    "logins",
    "logouts",
    "kicks",
    "msgsIn",
    "topicMsgsIn",
    "msgsOut",
    "topicDeliveries",
    "routedOut",
    "routedIn",
    "topicRoutedOut",
    "topicRoutedIn",
    "routeNacks",
    "acks",
    "errors",
    "protocolErrors",
    "slowConsumers",
    "idleTimeouts",
    "storePulls",
  ]),
  gateway: new Set(["requests", "handedOut", "noServer", "errors"]),
  router: new Set(["p2pIn", "p2pForwarded", "p2pOffline", "p2pLinkDown", "nacks", "resyncs", "topicIn", "topicForwarded", "cacheHits", "cacheMisses"]),
  manager: new Set(["sessionCache", "sessionStore", "topicCache", "topicStore", "errors"]),
  monitor: new Set(),
};

/** The router reports its topic fan-out per destination as `topicTo:<msg_server id>` counters. */
export const ROUTER_TOPIC_TO = "topicTo:";

export function isCounter(role: ProcessRole, stat: string): boolean {
  return COUNTERS[role].has(stat) || (role === "router" && stat.startsWith(ROUTER_TOPIC_TO));
}

/** Stats that only repeat another one (v1's name kept for v1 monitors) and are not exported twice. */
export const ALIASES: ReadonlySet<string> = new Set(["SessionNum"]);

const sum = (o: Record<string, number>, names: readonly string[]): number => names.reduce((a, n) => a + (o[n] ?? 0), 0);

/** Message counters grouped the way an operator reads them: into the server, out to clients, between servers. */
export const MSGS_IN = ["msgsIn", "topicMsgsIn"] as const;
export const MSGS_OUT = ["msgsOut", "topicDeliveries"] as const;
export const ROUTED_OUT = ["routedOut", "topicRoutedOut"] as const;
export const ROUTED_IN = ["routedIn", "topicRoutedIn"] as const;
export const ERRORS = ["errors", "protocolErrors"] as const;

/** One msg_server's chart values from its latest stats and rates. */
export function serverPoint(stats: Record<string, number>, rates: Record<string, number>): Record<ServerSeries, number> {
  return {
    sessions: stats.sessions ?? stats.SessionNum ?? 0,
    connections: stats.connections ?? 0,
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
