import type { Logger } from "../../shared/log/logger.js";
import type { ProcessRegistry, RegistryEntry } from "../../shared/bus/process-registry.js";
import type { Command } from "../../shared/protocol/commands.js";
import { parseEnvelope } from "../../shared/protocol/envelope.js";
import type { HistoryPoint, Overview, ProcessRole } from "./api-types.js";
import { ComponentMemory } from "./components.js";
import { heartbeatStaleMsOf, type MonitorConfig } from "./config.js";
import { History } from "./history.js";
import { buildOverview, type Beat, type ClusterState, type LinkState } from "./overview.js";
import { RateTracker } from "./rates.js";
import type { RedisProbe, RedisProber } from "./redis-health.js";

export type TickListener = (overview: Overview, point: HistoryPoint) => void;

export interface CollectorDeps {
  cfg: Pick<
    MonitorConfig,
    "id" | "sampleMs" | "historyMs" | "beatStaleMs" | "heartbeatMs" | "heartbeatStaleMs" | "redisSlowMs" | "storeStaleMs" | "storeSlowMs"
  >;
  registry: ProcessRegistry;
  /** The monitor's own probe of Redis, for the Redis component and for wording registry errors. */
  redis: RedisProber;
  log: Logger;
  /** The monitor's links to msg_servers, read at every sample. */
  links(): readonly LinkState[];
}

/**
 * Collects what the cluster says about itself: each msg_server's /sysctrl/monitor beat (v1's
 * `{"SessionNum":N}` plus our counters) and every process's registry heartbeat. Every sampleMs it
 * reads the registry, builds the overview, appends one history point and tells its listeners.
 */
export class Collector {
  readonly history: History;
  private readonly beats = new Map<string, Beat>();
  private readonly trackers = new Map<string, RateTracker>();
  private registry: RegistryEntry[] = [];
  private registryError: string | null = null;
  private registryReadMs: number | null = null;
  /** "<role>:<id>" -> the heartbeat `ts` last read and when (monitor's clock) it was first seen. */
  private readonly heartbeats = new Map<string, { ts: number; seenAt: number }>();
  private probe: RedisProbe | null = null;
  private readonly memory = new ComponentMemory();
  private latest: Overview;
  private readonly listeners = new Set<TickListener>();
  private timer: NodeJS.Timeout | null = null;
  private sampling = false;
  /** The registry read in flight, if any, and when it started. */
  private reading: Promise<void> | null = null;
  private readingSince = 0;

  constructor(private readonly d: CollectorDeps) {
    this.history = new History(d.cfg.historyMs, d.cfg.sampleMs);
    // Nothing known yet; the links do not exist before main.ts has built them.
    this.latest = buildOverview(this.state(Date.now(), [])).overview;
  }

  /** The overview of the last sample (empty until the first one completes). */
  get overview(): Overview {
    return this.latest;
  }

  onTick(fn: TickListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.d.cfg.sampleMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  onCommand(link: { addr: string }, cmd: Command): void {
    let e: ReturnType<typeof parseEnvelope>;
    try {
      e = parseEnvelope(cmd);
    } catch {
      return; // not a beat, and malformed: nothing for the monitor
    }
    if (e?.type !== "monitor-beat") return;
    const now = Date.now();
    const serverId = e.serverId ?? link.addr;
    const stats = e.stats;
    const sessionNum = e.sessionNum;
    // A v1 msg_server sends only {"SessionNum":N}; keep it usable as the sessions gauge.
    stats.sessions ??= sessionNum;
    const ts = e.ts ?? now;
    this.beats.set(serverId, { serverId, receivedAt: now, ts, sessionNum, stats });
    this.tracker("msg_server", serverId).update(ts, stats);
  }

  /**
   * Read the registry and publish one sample. A Redis that hangs (rather than refusing
   * connections) must not freeze the dashboard: after sampleMs the sample is published with the
   * last known registry and an error, while the one outstanding read is left to finish.
   */
  async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const reading = (this.reading ??= this.readRegistry().finally(() => (this.reading = null)));
      const probing = this.d.redis.probe();
      let answered = false;
      let probed = false;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((r) => (timer = setTimeout(r, this.d.cfg.sampleMs)));
      await Promise.race([
        Promise.all([
          reading.then(() => (answered = true)),
          probing.then((p) => {
            this.probe = p;
            probed = true;
          }),
        ]),
        timeout,
      ]);
      clearTimeout(timer);
      if (!probed) this.probe = { ok: false, latencyMs: null, error: `${this.d.redis.subject} does not answer (no PING reply within ${this.d.cfg.sampleMs} ms)` };
      if (!answered) {
        // The probe knows why (refused, unresolvable); a PING that works means only the read hangs.
        const why = this.probe && !this.probe.ok ? this.probe.error : null;
        this.registryError = why ?? `${this.d.redis.subject} has not answered the registry read for ${Date.now() - this.readingSince} ms`;
      }
      for (const e of this.registry) {
        if (e.info.role !== "msg_server" && e.alive) this.tracker(e.info.role, e.info.id).update(e.info.ts, e.info.stats);
      }
      this.forgetGone();
      const now = Date.now();
      const { overview, point } = buildOverview(this.state(now, this.d.links()));
      this.memory.apply(overview.components, now);
      this.latest = overview;
      this.history.append(point);
      for (const fn of this.listeners) {
        try {
          fn(overview, point);
        } catch (err) {
          this.d.log.error({ err }, "tick listener failed");
        }
      }
    } finally {
      this.sampling = false;
    }
  }

  private state(now: number, links: readonly LinkState[]): ClusterState {
    const { cfg } = this.d;
    return {
      now,
      monitorId: cfg.id,
      sampleMs: cfg.sampleMs,
      historyMs: cfg.historyMs,
      beatStaleMs: cfg.beatStaleMs,
      heartbeatStaleMs: heartbeatStaleMsOf(cfg),
      registry: this.registry,
      registryError: this.registryError,
      heartbeatSeen: new Map([...this.heartbeats].map(([k, h]) => [k, h.seenAt])),
      redis: { addr: this.d.redis.addr, subject: this.d.redis.subject, probe: this.probe, registryError: this.registryError, registryReadMs: this.registryReadMs, slowMs: cfg.redisSlowMs },
      store: { staleMs: cfg.storeStaleMs, slowMs: cfg.storeSlowMs },
      beats: this.beats,
      links,
      rates: new Map([...this.trackers].map(([k, t]) => [k, t.rates])),
    };
  }

  private async readRegistry(): Promise<void> {
    this.readingSince = Date.now();
    const t0 = performance.now();
    try {
      this.registry = await this.d.registry.list();
      this.registryReadMs = performance.now() - t0;
      this.registryError = null;
      const now = Date.now();
      for (const e of this.registry) {
        const key = `${e.info.role}:${e.info.id}`;
        const h = this.heartbeats.get(key);
        if (!h || h.ts !== e.info.ts) this.heartbeats.set(key, { ts: e.info.ts, seenAt: now });
      }
    } catch (err) {
      // Keep the last known registry: statuses go stale, and the dashboard says so.
      const msg = this.d.redis.describe(err);
      if (this.registryError !== msg) this.d.log.warn({ err, reason: msg }, "cannot read the registry");
      this.registryError = msg;
    }
  }

  private tracker(role: ProcessRole, id: string): RateTracker {
    const key = `${role}:${id}`;
    let t = this.trackers.get(key);
    if (!t) {
      t = new RateTracker(role);
      this.trackers.set(key, t);
    }
    return t;
  }

  /** Drop beats and rate state of processes the registry no longer lists, so these maps stay bounded. */
  private forgetGone(): void {
    if (this.registryError) return;
    const known = new Set(this.registry.map((e) => `${e.info.role}:${e.info.id}`));
    const linked = new Set(this.d.links().map((l) => l.addr));
    for (const key of this.trackers.keys()) {
      const id = key.slice(key.indexOf(":") + 1);
      if (!known.has(key) && !linked.has(id)) this.trackers.delete(key);
    }
    for (const id of this.beats.keys()) if (!known.has(`msg_server:${id}`) && !linked.has(id)) this.beats.delete(id);
    for (const key of this.heartbeats.keys()) if (!known.has(key)) this.heartbeats.delete(key);
  }
}

