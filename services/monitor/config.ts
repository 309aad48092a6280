import { z } from "zod";
import { commonKeys, hostPort, linkKeys, positiveMs } from "../../shared/config/common.js";

export const monitorSchema = z.strictObject({
  ...commonKeys,
  ...linkKeys,
  listen: hostPort.default("127.0.0.1:21000"),
  /** Subscriber id sent with SUBSCRIBE_CHANNEL (v1 `UUID`). */
  id: z.string().min(1).default("monitor-21000"),
  http: z
    .strictObject({
      /** Loopback by default: the dashboard shows internal addresses and counters. */
      host: z.string().min(1).default("127.0.0.1"),
      port: z.number().int().min(0).max(65535).default(30000),
      /** When set, `Authorization: Bearer <token>` is required on the API, the event stream and /metrics. */
      token: z.string().default(""),
      /** When both are set, HTTP basic auth is required on everything, the page included. */
      username: z.string().default(""),
      password: z.string().default(""),
      /**
       * Open event streams allowed at once; each costs a socket and a little buffer, so a
       * misbehaving client reloading in a loop cannot exhaust the monitor.
       */
      maxStreams: z.number().int().positive().default(64),
      /**
       * Host names (optionally "name:port") this monitor answers to; a request with any other Host
       * header gets 421, one from a page of another origin 403 (DNS rebinding). Unset: the bound
       * host, or the machine's addresses and name when bound to all interfaces. localhost,
       * 127.0.0.1 and ::1 are always accepted.
       */
      allowedHosts: z.array(z.string().min(1).regex(/^[^\s/@]+$/, "a host name, optionally with :port")).optional(),
    })
    .prefault({})
    .refine((h) => (h.username === "") === (h.password === ""), "http.username and http.password must be set together"),
  /** How often the registry is read and one point is added to every history series. */
  sampleMs: positiveMs.default(1000),
  /** How much history is kept in memory for the charts (ring buffers of historyMs / sampleMs points). */
  historyMs: positiveMs.default(3600 * 1000),
  /**
   * A msg_server whose last /sysctrl/monitor beat is older than this is shown as "no contact"
   * while its registry heartbeat still says it is alive. Several times msg_server monitorBeatMs.
   */
  beatStaleMs: positiveMs.default(5000),
  /**
   * A process whose registry heartbeat has not changed for this long is shown "stale" while its
   * TTL key still says alive. Unset: 2 × heartbeatMs + sampleMs (the monitor sees a change at
   * its next sample at the latest).
   */
  heartbeatStaleMs: positiveMs.optional(),
  /** A Redis PING slower than this shows Redis as degraded. */
  redisSlowMs: positiveMs.default(250),
  /** A msg_server whose last successful store read is older than this shows its store as down. */
  storeStaleMs: positiveMs.default(5000),
  /** A store read slower than this shows the store as degraded on that msg_server. */
  storeSlowMs: positiveMs.default(250),
});
export type MonitorConfig = z.output<typeof monitorSchema>;

/** heartbeatStaleMs with its default applied. */
export function heartbeatStaleMsOf(cfg: Pick<MonitorConfig, "heartbeatStaleMs" | "heartbeatMs" | "sampleMs">): number {
  return cfg.heartbeatStaleMs ?? 2 * cfg.heartbeatMs + cfg.sampleMs;
}
