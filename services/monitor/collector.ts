import type { Redis } from "ioredis";
import type { Logger } from "../../shared/log/logger.js";
import type { RedisKeys } from "../../shared/bus/keys.js";
import { readRegistry, type RegistryEntry } from "../../shared/bus/registry.js";
import { Cmd, type Command } from "../../shared/protocol/commands.js";
import type { Link } from "../../shared/net/link.js";
import type { HistoryPoint, Overview, ProcessRole } from "./api-types.js";
import type { MonitorConfig } from "./config.js";
import { History } from "./history.js";
import { buildOverview, type Beat, type LinkState } from "./overview.js";
import { RateTracker } from "./rates.js";

export type TickListener = (overview: Overview, point: HistoryPoint) => void;

export interface CollectorDeps {
  cfg: Pick<MonitorConfig, "id" | "sampleMs" | "historyMs" | "beatStaleMs">;
  redis: Redis;
  keys: RedisKeys;
  log: Logger;
  /** The monitor's links to msg_servers, read at every sample. */
  links(): readonly LinkState[];
}

const EMPTY_TOTALS = {
  processes: 0,
  processesUp: 0,
  msgServers: 0,
  msgServersUp: 0,
  sessions: 0,
  connections: 0,
  msgsInPerSec: 0,
  msgsOutPerSec: 0,
  routedPerSec: 0,
  outboundBytes: 0,
  errorsPerSec: 0,
};

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
  private latest: Overview;
  private readonly listeners = new Set<TickListener>();
  private timer: NodeJS.Timeout | null = null;
  private sampling = false;

  constructor(private readonly d: CollectorDeps) {
    this.history = new History(d.cfg.historyMs, d.cfg.sampleMs);
    this.latest = {
      now: Date.now(),
      monitorId: d.cfg.id,
      sampleMs: d.cfg.sampleMs,
      historyMs: d.cfg.historyMs,
      registryError: null,
      totals: { ...EMPTY_TOTALS },
      processes: [],
    };
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

  onCommand(link: Link, cmd: Command): void {
    if (cmd.name !== Cmd.MONITOR_BEAT) return;
    // Line-mode subscribers get the beat object as the last argument (ChannelHub.publish).
    const json = cmd.args[cmd.args.length - 1];
    let data: { SessionNum?: unknown; ServerId?: unknown; Ts?: unknown; Stats?: unknown };
    try {
      data = cmd.anyData !== undefined ? (cmd.anyData as typeof data) : (JSON.parse(json ?? "{}") as typeof data);
    } catch {
      this.d.log.debug({ from: link.addr }, "monitor beat is not JSON; ignored");
      return;
    }
    const now = Date.now();
    const serverId = typeof data.ServerId === "string" ? data.ServerId : link.addr;
    const stats = numericOnly(data.Stats);
    const sessionNum = typeof data.SessionNum === "number" ? data.SessionNum : (stats.sessions ?? 0);
    // A v1 msg_server sends only {"SessionNum":N}; keep it usable as the sessions gauge.
    stats.sessions ??= sessionNum;
    const ts = typeof data.Ts === "number" ? data.Ts : now;
    this.beats.set(serverId, { serverId, receivedAt: now, ts, sessionNum, stats });
    this.tracker("msg_server", serverId).update(ts, stats);
  }

  /** Read the registry and publish one sample. Overlapping calls (a slow Redis) are skipped. */
  async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      try {
        this.registry = await readRegistry(this.d.redis, this.d.keys);
        this.registryError = null;
      } catch (err) {
        // Keep the last known registry: statuses go stale, and the dashboard says so.
        const msg = (err as Error).message;
        if (this.registryError !== msg) this.d.log.warn({ err: msg }, "cannot read the registry");
        this.registryError = msg;
      }
      for (const e of this.registry) {
        if (e.info.role !== "msg_server" && e.alive) this.tracker(e.info.role, e.info.id).update(e.info.ts, e.info.stats);
      }
      this.forgetGone();
      const { overview, point } = buildOverview({
        now: Date.now(),
        monitorId: this.d.cfg.id,
        sampleMs: this.d.cfg.sampleMs,
        historyMs: this.d.cfg.historyMs,
        beatStaleMs: this.d.cfg.beatStaleMs,
        registry: this.registry,
        registryError: this.registryError,
        beats: this.beats,
        links: this.d.links(),
        rates: new Map([...this.trackers].map(([k, t]) => [k, t.rates])),
      });
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
  }
}

function numericOnly(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (typeof v !== "object" || v === null) return out;
  for (const [k, x] of Object.entries(v)) if (typeof x === "number" && Number.isFinite(x)) out[k] = x;
  return out;
}
