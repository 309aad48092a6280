import type { Logger } from "../../shared/log/logger.js";
import type { ProcessRegistry } from "../../shared/bus/process-registry.js";
import { splitHostPort } from "../../shared/config/common.js";
import { tcpProbe } from "../../shared/net/probe.js";

interface Candidate {
  addr: string;
  /** Connections the server reported in its last heartbeat... */
  reported: number;
  /** ...plus clients we sent there since, so a burst of logins does not all land on one server. */
  assigned: number;
  /** Its WebSocket URL, when it announces one (seeds probed over TCP have none). */
  ws: string | null;
}

/** Where a client goes: the msg_server's TCP address and, if it has one, its WebSocket URL. */
export interface Endpoint {
  addr: string;
  ws: string | null;
}

const PROBE_TIMEOUT_MS = 300;

/**
 * Chooses the live msg_server with the fewest connections. Liveness comes from the process
 * registry (heartbeats with a short TTL), so a dead server is never handed out; when the registry
 * cannot be read, seeds that accept a TCP connection are used instead (v1 picked at random from a
 * static list, reference §2.2).
 */
export class Balancer {
  private candidates: Candidate[] = [];
  private fromRegistry = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly registry: ProcessRegistry,
    private readonly seeds: readonly string[],
    private readonly refreshMs: number,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  get liveCount(): number {
    return this.candidates.length;
  }

  pick(): string | null {
    return this.pickEndpoint()?.addr ?? null;
  }

  /** The same choice as pick(), with the server's WebSocket URL (the gateway's GET /v1/endpoint); `ws` considers only servers that have one. */
  pickEndpoint(o: { ws?: boolean } = {}): Endpoint | null {
    let best: Candidate | null = null;
    for (const c of this.candidates) {
      if (o.ws && c.ws === null) continue;
      if (!best || c.reported + c.assigned < best.reported + best.assigned) best = c;
    }
    if (!best) return null;
    best.assigned++;
    return { addr: best.addr, ws: best.ws };
  }

  async refresh(): Promise<void> {
    try {
      const entries = await this.registry.list("msg_server");
      this.candidates = entries
        .filter((e) => e.alive)
        .map((e) => ({ addr: e.info.addr, reported: e.info.stats.connections ?? 0, assigned: 0, ws: e.info.ws ?? null }));
      if (!this.fromRegistry) this.log.info({ live: this.candidates.length }, "using the registry");
      this.fromRegistry = true;
    } catch (err) {
      if (this.fromRegistry) this.log.warn({ err }, "registry unreadable; probing seed list");
      this.fromRegistry = false;
      const alive = await Promise.all(this.seeds.map((s) => tcpProbe(splitHostPort(s).host, splitHostPort(s).port, PROBE_TIMEOUT_MS)));
      this.candidates = this.seeds.filter((_, i) => alive[i]).map((addr) => ({ addr, reported: 0, assigned: 0, ws: null }));
    }
  }
}
