/**
 * JSON shapes of the monitor's HTTP API and event stream, plus the series names. No imports, so the
 * dashboard (monitor-ui/, bundled by esbuild) shares them with the server without pulling in Node.
 * Documented in docs/MONITOR.md; change both together.
 */

export type ProcessRole = "gateway" | "msg_server" | "router" | "manager" | "monitor" | "api";

/**
 * - up: the registry heartbeat is fresh (and, for a msg_server, the monitor's link is up and its
 *   beat is fresh);
 * - stale: the process may well be running, but what the monitor knows is old: its registry
 *   heartbeat is late (its TTL key has not expired yet), or the registry cannot be read at all;
 * - no-contact: a msg_server the registry says is alive but the monitor cannot hear from;
 * - down: the registry heartbeat expired, or a configured msg_server never registered.
 */
export type ProcessStatus = "up" | "stale" | "down" | "no-contact";

export interface ProcessView {
  /** "<role>:<id>", unique in the cluster. */
  key: string;
  role: ProcessRole;
  id: string;
  addr: string;
  /** `addr` for people: a wildcard bind (0.0.0.0:17000, [::]:17000) reads "all interfaces :17000". */
  displayAddr: string;
  pid: number | null;
  version: string | null;
  /** Epoch ms (the process's clock); null for a configured msg_server that never registered. */
  startedAt: number | null;
  status: ProcessStatus;
  /** One line saying why the status is what it is. */
  reason: string;
  /** How long the process has been running; null while it is down. */
  uptimeMs: number | null;
  /** Epoch ms of the last registry heartbeat (the process's clock). */
  lastHeartbeat: number | null;
  /**
   * How long ago the monitor last saw the registry heartbeat change, on the monitor's own clock
   * (so clock skew between machines does not matter); null when never seen.
   */
  heartbeatAgeMs: number | null;
  /** False for a msg_server known only from the monitor's seed list. */
  registered: boolean;
  /** msg_server only: the monitor's /sysctrl/monitor link to it. */
  link: { up: boolean; connects: number } | null;
  /** msg_server only: when the monitor last received its beat (monitor's clock). */
  lastBeatAt: number | null;
  /** Latest counters and gauges as reported by the process. */
  stats: Record<string, number>;
  /** Per-second rates of the counters among `stats`, from the last two samples. */
  rates: Record<string, number>;
}

export interface ClusterTotals {
  processes: number;
  processesUp: number;
  msgServers: number;
  msgServersUp: number;
  sessions: number;
  /** Client connections (logged in or not); internal links between processes are not counted. */
  connections: number;
  msgsInPerSec: number;
  msgsOutPerSec: number;
  routedPerSec: number;
  /** Bytes queued for clients on every msg_server (the send backlog). */
  outboundBytes: number;
  errorsPerSec: number;
}

/**
 * - up: answering, and fast enough;
 * - degraded: answering, but slowly, or failing for some of its users (one msg_server's store);
 * - down: not answering;
 * - unknown: nothing reports on it (no msg_server is in contact, or none reports store gauges).
 */
export type ComponentStatus = "up" | "degraded" | "down" | "unknown";

/** One part of a component as one process sees it: the store behind one msg_server. */
export interface ComponentPart {
  /** The process that reports it ("msg_server:<id>"). */
  key: string;
  id: string;
  status: ComponentStatus;
  reason: string;
  latencyMs: number | null;
}

/** Something every process depends on that is not a FishChat process: Redis, the store. */
export interface ComponentView {
  key: "redis" | "store";
  name: string;
  /** Where it is, when the monitor knows ("127.0.0.1:6379"); null for the store (one per msg_server or shared). */
  addr: string | null;
  status: ComponentStatus;
  /** One line for people: "Redis at 127.0.0.1:6379 refuses connections". */
  reason: string;
  /** Redis: the PING round trip; store: the slowest msg_server's last store read. */
  latencyMs: number | null;
  /** Redis: how long the monitor's last registry read took. */
  registryReadMs: number | null;
  /** Monitor's clock when the current status began (null: since the monitor started). */
  since: number | null;
  /** The last failure, worded for people, and when (monitor's clock); kept after recovery. */
  lastError: string | null;
  lastErrorAt: number | null;
  /** The store: one part per msg_server that reports on it. */
  parts: ComponentPart[];
}

export interface Overview {
  /** Monitor's clock when this was built. */
  now: number;
  monitorId: string;
  sampleMs: number;
  historyMs: number;
  /** Set while the Redis registry cannot be read, worded for people: every status below is then stale. */
  registryError: string | null;
  /** Redis and the store, each with its own health. */
  components: ComponentView[];
  totals: ClusterTotals;
  processes: ProcessView[];
}

/** What is charted per msg_server, one value per sample. */
export const SERVER_SERIES = [
  "sessions",
  "connections",
  "msgsInPerSec",
  "msgsOutPerSec",
  "routedOutPerSec",
  "routedInPerSec",
  "outboundBytes",
  "unackedDeliveries",
  "errorsPerSec",
  "eventLoopLagMs",
  "rssBytes",
] as const;
export type ServerSeries = (typeof SERVER_SERIES)[number];

/** What is charted for the whole cluster. */
export const CLUSTER_SERIES = [
  "sessions",
  "connections",
  "msgsInPerSec",
  "msgsOutPerSec",
  "routedPerSec",
  "outboundBytes",
  "msgServersUp",
  "processesUp",
] as const;
export type ClusterSeries = (typeof CLUSTER_SERIES)[number];

/** Column-wise history: `t[i]` is the sample time (epoch ms), `series[name][i]` its value or null (no data). */
export interface SeriesData {
  t: number[];
  series: Record<string, (number | null)[]>;
}

export interface HistoryResponse {
  sampleMs: number;
  cluster: SeriesData;
  /** Keyed by msg_server id. */
  servers: Record<string, SeriesData>;
}

export interface ProcessDetail {
  process: ProcessView;
  /** msg_server only. */
  history: SeriesData | null;
}

/** One sample of every series, as appended to the history. */
export interface HistoryPoint {
  t: number;
  cluster: Record<string, number | null>;
  servers: Record<string, Record<string, number | null>>;
}

/** Payload of the `tick` event of GET /api/events, sent once per sample. */
export interface TickEvent {
  overview: Overview;
  point: HistoryPoint;
}
