import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { Overview, ProcessView } from "./api-types.js";
import { ALIASES, ROUTER_TOPIC_TO, isCounter } from "../../shared/stats-schema.js";

/**
 * Bounds the metric families created from reported stat names, so a process reporting ever-new
 * names cannot grow the monitor's memory without limit.
 */
const MAX_DYNAMIC_METRICS = 500;
const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

const HELP: Record<string, string> = {
  sessions: "Clients logged in on this msg_server (online sessions).",
  connections: "Open client connections.",
  outboundBytes: "Bytes queued for clients and not yet written (send backlog).",
  msgsIn: "Peer-to-peer messages received from clients.",
  msgsOut: "Peer-to-peer messages written to clients.",
  eventLoopLagMs: "Mean event-loop lag over the last beat interval.",
};

/** Cluster totals exported as `fishchat_cluster_<snake name>`. */
const CLUSTER_GAUGES = {
  sessions: "Clients logged in across all live msg_servers.",
  connections: "Open client connections across all live msg_servers (internal links not counted).",
  outboundBytes: "Bytes queued for clients on all live msg_servers (send backlog).",
  msgServers: "msg_servers known to the monitor, up or down.",
  msgServersUp: "msg_servers up and in contact with the monitor.",
  processes: "Processes known to the monitor, up or down.",
  processesUp: "Processes up.",
} satisfies Partial<Record<keyof Overview["totals"], string>>;

function snake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^a-zA-Z0-9_]/g, "_")
    .toLowerCase();
}

/** Prometheus name and scale of one reported stat: `*Ms` becomes seconds, counters get `_total`. */
function metricOf(p: ProcessView, stat: string): { name: string; scale: number; counter: boolean } {
  const counter = isCounter(p.role, stat);
  const ms = /Ms$/.test(stat);
  const base = `fishchat_${p.role}_${snake(ms ? stat.slice(0, -2) : stat)}${ms ? "_seconds" : ""}`;
  return { name: counter ? `${base}_total` : base, scale: ms ? 1 / 1000 : 1, counter };
}

/**
 * /metrics in Prometheus text format. Metric values mirror the last sample: at every tick all of
 * them are reset and set again, so a process that is gone stops being reported instead of
 * freezing at its last value (its `fishchat_process_up` stays, at 0).
 */
export class MonitorMetrics {
  readonly registry = new Registry();
  private readonly dynamic = new Map<string, Gauge | Counter>();
  private readonly up: Gauge;
  private readonly uptime: Gauge;
  private readonly heartbeatAge: Gauge;
  private readonly linkUp: Gauge;
  private readonly cluster: Record<keyof typeof CLUSTER_GAUGES, Gauge>;
  private readonly registryOk: Gauge;
  private readonly componentUp: Gauge;
  private readonly componentLatency: Gauge;
  private readonly topicTo: Counter;

  constructor() {
    const registers = [this.registry];
    this.up = new Gauge({ name: "fishchat_process_up", help: "1 when the process is up, 0 when stale, down or out of the monitor's contact (the status label says which).", labelNames: ["role", "id", "addr", "status"], registers });
    this.uptime = new Gauge({ name: "fishchat_process_uptime_seconds", help: "How long the process has been running.", labelNames: ["role", "id"], registers });
    this.heartbeatAge = new Gauge({ name: "fishchat_process_heartbeat_age_seconds", help: "Time since the monitor last saw the process's registry heartbeat change.", labelNames: ["role", "id"], registers });
    this.linkUp = new Gauge({ name: "fishchat_monitor_link_up", help: "1 while the monitor's /sysctrl/monitor link to the msg_server is up.", labelNames: ["server"], registers });
    this.cluster = Object.fromEntries(
      Object.entries(CLUSTER_GAUGES).map(([k, help]) => [k, new Gauge({ name: `fishchat_cluster_${snake(k)}`, help, registers })]),
    ) as MonitorMetrics["cluster"];
    this.registryOk = new Gauge({ name: "fishchat_monitor_registry_ok", help: "1 when the monitor could read the Redis registry at its last sample.", registers });
    this.componentUp = new Gauge({ name: "fishchat_component_up", help: "1 when the component (redis, store) is up, 0 when degraded, down or unknown.", labelNames: ["component", "status"], registers });
    this.componentLatency = new Gauge({ name: "fishchat_component_latency_seconds", help: "Redis: PING round trip; store: the slowest msg_server's last store read.", labelNames: ["component"], registers });
    this.topicTo = new Counter({ name: "fishchat_router_topic_to_total", help: "Topic messages the router forwarded, per destination msg_server.", labelNames: ["id", "server"], registers });
    collectDefaultMetrics({ register: this.registry, prefix: "fishchat_monitor_" });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  update(o: Overview): void {
    for (const m of [this.up, this.uptime, this.heartbeatAge, this.linkUp, this.topicTo, this.componentUp, this.componentLatency, ...this.dynamic.values()]) m.reset();
    this.registryOk.set(o.registryError ? 0 : 1);
    for (const c of o.components) {
      this.componentUp.set({ component: c.key, status: c.status }, c.status === "up" ? 1 : 0);
      if (c.latencyMs !== null) this.componentLatency.set({ component: c.key }, c.latencyMs / 1000);
    }
    for (const k of Object.keys(CLUSTER_GAUGES) as (keyof typeof CLUSTER_GAUGES)[]) this.cluster[k].set(o.totals[k]);

    for (const p of o.processes) {
      this.up.set({ role: p.role, id: p.id, addr: p.addr, status: p.status }, p.status === "up" ? 1 : 0);
      if (p.link) this.linkUp.set({ server: p.id }, p.link.up ? 1 : 0);
      if (p.status === "down") continue;
      if (p.uptimeMs !== null) this.uptime.set({ role: p.role, id: p.id }, p.uptimeMs / 1000);
      if (p.heartbeatAgeMs !== null) this.heartbeatAge.set({ role: p.role, id: p.id }, p.heartbeatAgeMs / 1000);
      for (const [stat, value] of Object.entries(p.stats)) this.setStat(p, stat, value);
    }
  }

  private setStat(p: ProcessView, stat: string, value: number): void {
    if (ALIASES.has(stat) || !Number.isFinite(value)) return;
    if (p.role === "router" && stat.startsWith(ROUTER_TOPIC_TO)) {
      this.topicTo.inc({ id: p.id, server: stat.slice(ROUTER_TOPIC_TO.length) }, Math.max(0, value));
      return;
    }
    const { name, scale, counter } = metricOf(p, stat);
    if (!METRIC_NAME_RE.test(name)) return;
    let m = this.dynamic.get(name);
    if (!m) {
      if (this.dynamic.size >= MAX_DYNAMIC_METRICS || this.registry.getSingleMetric(name)) return;
      const help = HELP[stat] ?? `${p.role} "${stat}" as reported in its heartbeat${counter ? " (monotonic counter)" : ""}.`;
      m = counter
        ? new Counter({ name, help, labelNames: ["id"], registers: [this.registry] })
        : new Gauge({ name, help, labelNames: ["id"], registers: [this.registry] });
      this.dynamic.set(name, m);
    }
    if (m instanceof Counter) m.inc({ id: p.id }, Math.max(0, value * scale));
    else m.set({ id: p.id }, value * scale);
  }
}
