/**
 * Every stat every FishChat process reports, declared once: its kind (a monotonic counter, from
 * which readers derive rates, or a gauge), and what it means. Services build their counters from
 * this table (counters()), the monitor classifies what it receives by it, and docs/MONITOR.md is
 * checked against it by a unit test, the way error codes are checked against docs/ERRORS.md.
 */
import type { Role } from "./bus/process-registry.js";

export type StatKind = "counter" | "gauge";

export interface StatDef {
  readonly kind: StatKind;
  readonly help: string;
}

const counter = (help: string) => ({ kind: "counter" as const, help });
const gauge = (help: string) => ({ kind: "gauge" as const, help });

/** Reported by every process: its own health, whatever its role. */
const PROCESS = {
  rssBytes: gauge("resident memory of the process, bytes"),
  heapUsedBytes: gauge("V8 heap in use, bytes"),
  uptimeMs: gauge("time since the process started, ms"),
  eventLoopLagMs: gauge("mean event-loop delay over the last sample window, ms"),
  eventLoopLagMaxMs: gauge("largest event-loop delay over the last sample window, ms"),
} as const;

const LINKS = {
  links: gauge("msg_servers this process keeps a link to"),
  linksUp: gauge("of those, links that are up"),
} as const;

export const STATS = {
  msg_server: {
    ...PROCESS,
    logins: counter("client logins accepted"),
    loginsRefused: counter("logins refused by admission control (loginAdmission.maxInProgress running and maxQueued waiting): IM_ERR_RATE_LIMITED, or closed for a v1 packet client"),
    logouts: counter("client sessions ended (logout, disconnect, kick)"),
    kicks: counter("sessions closed because the same id logged in again"),
    msgsIn: counter("p2p messages accepted from clients"),
    topicMsgsIn: counter("topic messages accepted from clients"),
    msgsOut: counter("p2p messages written to clients"),
    topicDeliveries: counter("topic messages written to clients"),
    routedOut: counter("p2p messages handed to the router"),
    routedIn: counter("p2p messages received from the router"),
    topicRoutedOut: counter("topic messages handed to the router"),
    topicRoutedIn: counter("topic messages received from the router"),
    routeNacks: counter("routed p2p messages whose recipient was not here (router cache stale)"),
    routeRepairs: counter("router links that closed, each followed by a read of every local stream the store is ahead of"),
    acks: counter("p2p acknowledgements (P2P_ACK) that removed an inbox entry"),
    errors: counter("commands answered with an error"),
    protocolErrors: counter("connections closed for a framing error"),
    slowConsumers: counter("connections closed because they did not read fast enough"),
    idleTimeouts: counter("connections closed for silence or a missed login deadline"),
    storePulls: counter("reads of an inbox or topic from the store (catch-up and repair)"),
    connections: gauge("open connections, clients and internal links"),
    clientConnections: gauge("open client connections, logged in or not (internal links excluded)"),
    sessions: gauge("logged-in clients"),
    loginsInProgress: gauge("logins between their token check and the end of their login sync (bounded by loginAdmission.maxInProgress)"),
    loginsQueued: gauge("logins waiting for a slot of loginAdmission.maxInProgress (bounded by loginAdmission.maxQueued)"),
    SessionNum: gauge("v1's name for sessions, kept for v1 monitors"),
    topics: gauge("topics with at least one member online here"),
    outboundBytes: gauge("bytes queued for connections and not yet written (send backlog)"),
    unackedDeliveries: gauge("p2p messages written to online clients and not yet acknowledged"),
    routerLinks: gauge("routers subscribed to this server's send channel"),
    storeLatencyMs: gauge("duration of the last store health read (one key), ms; while one is pending, how long it has taken; -1 before the first"),
    storeOkAgoMs: gauge("time since a store health read last succeeded, ms; -1 before the first"),
  },
  gateway: {
    ...PROCESS,
    requests: counter("REQ_MSG_SERVER requests"),
    handedOut: counter("requests answered with a msg_server"),
    noServer: counter("requests refused because no msg_server was live"),
    errors: counter("commands answered with an error"),
    connections: gauge("open connections"),
    liveMsgServers: gauge("msg_servers the gateway may hand out"),
  },
  router: {
    ...PROCESS,
    ...LINKS,
    p2pIn: counter("p2p messages received from msg_servers"),
    p2pForwarded: counter("p2p messages forwarded to the recipient's msg_server"),
    p2pOffline: counter("p2p messages whose recipient is online nowhere (they wait in the store)"),
    p2pLinkDown: counter("p2p messages not forwarded because the destination link was down"),
    p2pShed: counter("p2p forwards skipped because a source's lookup queue was full (recovered from the store)"),
    nacks: counter("ROUTE_NACKs: the destination did not have the recipient"),
    resyncs: counter("RESYNCs sent to the right server after a NACK"),
    topicIn: counter("topic messages received from msg_servers"),
    topicForwarded: counter("topic messages forwarded, summed over destinations"),
    badMessages: counter("malformed messages received and dropped"),
    cacheHits: counter("recipient locations found in the location cache"),
    cacheMisses: counter("recipient locations read from the session directory"),
    locationCache: gauge("entries in the location cache"),
    topicsRouted: gauge("topics with members online on at least one server"),
  },
  manager: {
    ...PROCESS,
    ...LINKS,
    sessionCache: counter("v1 session cache writes"),
    sessionStore: counter("client record writes"),
    topicCache: counter("v1 topic cache refreshes (topic-status channel)"),
    topicStore: counter("v1 topic cache refreshes (topic-info channel)"),
    sessionsReaped: counter("sessions of a vanished msg_server marked offline"),
    retentionDeleted: counter("messages deleted by the retention policy"),
    retentionAttachmentsDeleted: counter("attachments (files, images, voice notes) deleted by the retention policy, by age"),
    retentionExpiredInbox: counter("undelivered messages dropped by the retention age, with their inbox entries"),
    retentionPasses: counter("complete retention passes over the store"),
    errors: counter("writes that failed"),
    badMessages: counter("malformed messages received and dropped"),
  },
  monitor: {
    ...PROCESS,
    ...LINKS,
    processes: gauge("processes in the registry"),
    processesUp: gauge("of those, processes that are up"),
  },
  api: {
    ...PROCESS,
    ...LINKS,
    requests: counter("HTTP requests answered"),
    sent: counter("messages sent through the API (p2p and topic, duplicates included)"),
    clientErrors: counter("requests answered 4xx other than 401 and 429 (bad input, unknown topic, ...)"),
    badKeys: counter("requests refused for a missing or unknown API key (401)"),
    rateLimited: counter("requests refused by a rate limit (429)"),
    serverErrors: counter("requests answered 5xx (503: no msg_server answered)"),
    webhookDelivered: counter("webhook events delivered (2xx)"),
    webhookDropped: counter("webhook events dropped: queue full, a non-retriable answer, or out of attempts"),
    webhookFailedAttempts: counter("webhook POSTs that failed (each retry counts)"),
    webhookPending: gauge("webhook events queued or in flight"),
  },
} as const satisfies Record<Role, Record<string, StatDef>>;

/** Prefix of the router's per-destination topic fan-out counters. */
export const ROUTER_TOPIC_TO = "topicTo:";

/**
 * Stats whose names carry an id: `<prefix><id>`. The router reports its topic fan-out per
 * destination msg_server as `topicTo:<msg_server id>`.
 */
export const STAT_FAMILIES = {
  msg_server: {},
  gateway: {},
  router: { [ROUTER_TOPIC_TO]: counter("topic messages forwarded to one msg_server") },
  manager: {},
  monitor: {},
  api: {},
} as const satisfies Record<Role, Record<string, StatDef>>;

type Schema = typeof STATS;
export type StatName<R extends Role> = keyof Schema[R] & string;
export type CounterName<R extends Role> = { [K in StatName<R>]: Schema[R][K] extends { kind: "counter" } ? K : never }[StatName<R>];
export type Counters<R extends Role> = { -readonly [K in CounterName<R>]: number };

/** A fresh set of this role's counters, all zero. */
export function counters<R extends Role>(role: R): Counters<R> {
  const out: Record<string, number> = {};
  for (const [name, def] of Object.entries(STATS[role] as Record<string, StatDef>)) if (def.kind === "counter") out[name] = 0;
  return out as Counters<R>;
}

/** The definition of a reported stat, or undefined for one the schema does not know. */
export function statDef(role: Role, name: string): StatDef | undefined {
  const direct = (STATS[role] as Record<string, StatDef>)[name];
  if (direct) return direct;
  for (const [prefix, def] of Object.entries(STAT_FAMILIES[role] as Record<string, StatDef>)) if (name.startsWith(prefix)) return def;
  return undefined;
}

export function isCounter(role: Role, name: string): boolean {
  return statDef(role, name)?.kind === "counter";
}

/** Stats that only repeat another one (v1's name kept for v1 monitors) and are not exported twice. */
export const ALIASES: ReadonlySet<string> = new Set(["SessionNum"]);
