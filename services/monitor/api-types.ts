/**
 * JSON shapes of the monitor's HTTP API and event stream, plus the series names. No imports, so the
 * dashboard (monitor-ui/, bundled by esbuild) shares them with the server without pulling in Node.
 * Documented in docs/MONITOR.md; change both together.
 */

export type ProcessRole = "gateway" | "msg_server" | "router" | "manager" | "monitor";

/**
 * - up: the registry heartbeat is fresh (and, for a msg_server, the monitor's link is up and its
 *   beat is fresh);
 * - no-contact: a msg_server the registry says is alive but the monitor cannot hear from;
 * - down: the registry heartbeat expired, or a configured msg_server never registered.
 */
export type ProcessStatus = "up" | "down" | "no-contact";

export interface ProcessView {
  /** "<role>:<id>", unique in the cluster. */
  key: string;
  role: ProcessRole;
  id: string;
  addr: string;
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
  connections: number;
  msgsInPerSec: number;
  msgsOutPerSec: number;
  routedPerSec: number;
  /** Bytes queued for clients on every msg_server (the send backlog). */
  outboundBytes: number;
  errorsPerSec: number;
}

export interface Overview {
  /** Monitor's clock when this was built. */
  now: number;
  monitorId: string;
  sampleMs: number;
  historyMs: number;
  /** Set while the Redis registry cannot be read: every status below is then stale. */
  registryError: string | null;
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
