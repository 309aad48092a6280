import type { Logger } from "../log/logger.js";

export type Role = "gateway" | "msg_server" | "router" | "manager" | "monitor" | "api";

/** What each process says about itself; the monitor shows it, the gateway balances on it. */
export interface ProcessInfo {
  role: Role;
  id: string;
  /** Client-facing "host:port" (msg_server's advertised address; listen address for others). */
  addr: string;
  /** msg_server with a WebSocket listener: the URL browsers and apps connect to ("ws://host:port/path"). */
  ws?: string;
  /** msg_server with HTTP file endpoints: their base URL ("http://host:port/v1/files"), for download links. */
  files?: string;
  /** msg_server with a TLS listener: its TLS "host:port" (clients on a TLS gateway port, and internal links over TLS, use it). */
  tls?: string;
  pid: number;
  version: string;
  startedAt: number;
  /** Sender's clock at the last heartbeat; informative only, liveness uses the TTL. */
  ts: number;
  /** Counters and gauges (connections, sessions, ...); names in shared/stats-schema.ts. */
  stats: Record<string, number>;
}

export interface RegistryEntry {
  info: ProcessInfo;
  alive: boolean;
}

/**
 * Who is in the cluster: a descriptive entry per process plus a liveness flag with a TTL that
 * each heartbeat renews, so liveness never depends on clocks agreeing across machines. Entries of
 * processes gone for FORGET_AFTER_MS are dropped by readers. Implementations:
 * redis-process-registry.ts, memory-process-registry.ts; one conformance suite.
 */
export interface ProcessRegistry {
  /** Write this process's entry and mark it alive for ttlMs. */
  announce(info: ProcessInfo, ttlMs: number): Promise<void>;
  /** Graceful stop: not alive any more, at once (the entry stays, so the monitor shows it down). */
  withdraw(role: Role, id: string): Promise<void>;
  /** Every registered process (optionally of one role) with its liveness. */
  list(role?: Role): Promise<RegistryEntry[]>;
}

/** Entries whose process has been gone this long are removed by readers. */
export const FORGET_AFTER_MS = 60 * 60 * 1000;

/** Keeps this process's registry entry fresh: one announce per heartbeat interval. */
export class RegistryPublisher {
  private timer: NodeJS.Timeout | null = null;
  private readonly base: Omit<ProcessInfo, "ts" | "stats">;

  constructor(
    private readonly registry: ProcessRegistry,
    who: { role: Role; id: string; addr: string; version: string; ws?: string; tls?: string; files?: string },
    private readonly timing: { heartbeatMs: number; registryTtlMs: number },
    private readonly stats: () => Record<string, number>,
    private readonly log: Logger,
  ) {
    this.base = { ...who, pid: process.pid, startedAt: Date.now() };
  }

  start(): this {
    void this.beat();
    this.timer = setInterval(() => void this.beat(), this.timing.heartbeatMs);
    this.timer.unref();
    return this;
  }

  private stopped = false;
  private inFlight: Promise<void> | null = null;

  async beat(): Promise<void> {
    if (this.stopped) return;
    const run = async () => {
      try {
        await this.registry.announce({ ...this.base, ts: Date.now(), stats: this.stats() }, this.timing.registryTtlMs);
      } catch (err) {
        this.log.debug({ err }, "registry heartbeat failed");
      }
    };
    this.inFlight = run();
    await this.inFlight;
  }

  /** Graceful stop: drop the alive flag at once so nobody waits for the TTL. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    // A heartbeat in flight would mark us alive again after the withdrawal: let it land first.
    await this.inFlight;
    try {
      await this.registry.withdraw(this.base.role, this.base.id);
    } catch {
      // Redis gone: the TTL will expire it.
    }
  }
}
