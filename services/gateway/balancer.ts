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
  /** Its TLS address, when it has a TLS listener. */
  tls: string | null;
}

/** Where a client goes: the msg_server's TCP address and, if it has one, its WebSocket URL. */
export interface Endpoint {
  addr: string;
  ws: string | null;
  tls: string | null;
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
  /** Per server: its last heartbeat's ts and when (our clock) we first saw it. */
  private readonly beats = new Map<string, { ts: number; at: number }>();
  private fromRegistry = false;
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly registry: ProcessRegistry,
    private readonly seeds: readonly string[],
    private readonly refreshMs: number,
    private readonly log: Logger,
    /** A heartbeat unchanged for this long: the server is presumed gone before its TTL says so. */
    private readonly staleAfterMs = Number.POSITIVE_INFINITY,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    // One refresh at a time: on a loaded machine one can outlast the interval, and an older
    // read finishing after a newer one put a withdrawn (draining) server back in the rotation.
    this.timer = setInterval(() => {
      if (this.refreshing) return;
      this.refreshing = this.refresh().finally(() => (this.refreshing = null));
    }, this.refreshMs);
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
  pickEndpoint(o: { ws?: boolean; tls?: boolean } = {}): Endpoint | null {
    let best: Candidate | null = null;
    for (const c of this.candidates) {
      if (o.ws && c.ws === null) continue;
      if (o.tls && c.tls === null) continue;
      if (!best || c.reported + c.assigned < best.reported + best.assigned) best = c;
    }
    if (!best) return null;
    best.assigned++;
    return { addr: best.addr, ws: best.ws, tls: best.tls };
  }

  async refresh(): Promise<void> {
    try {
      const entries = await this.registry.list("msg_server");
      const now = Date.now();
      const before = new Map(this.candidates.map((c) => [c.addr, c]));
      const next: Candidate[] = [];
      for (const e of entries) {
        if (!e.alive) continue;
        // When did its heartbeat last change, on our clock? A SIGKILLed or frozen server keeps its
        // alive key until the TTL runs out; it stops heartbeating at once.
        const seen = this.beats.get(e.info.addr);
        if (!seen || seen.ts !== e.info.ts) this.beats.set(e.info.addr, { ts: e.info.ts, at: now });
        else if (now - seen.at > this.staleAfterMs) continue;
        const prev = before.get(e.info.addr);
        // Clients sent there since its last heartbeat still count until a new one reports them.
        const assigned = prev && seen?.ts === e.info.ts ? prev.assigned : 0;
        next.push({ addr: e.info.addr, reported: e.info.stats.clientConnections ?? e.info.stats.connections ?? 0, assigned, ws: e.info.ws ?? null, tls: e.info.tls ?? null });
      }
      for (const addr of this.beats.keys()) if (!entries.some((e) => e.info.addr === addr)) this.beats.delete(addr);
      this.candidates = next;
      if (!this.fromRegistry) this.log.info({ live: this.candidates.length }, "using the registry");
      this.fromRegistry = true;
    } catch (err) {
      if (this.fromRegistry) this.log.warn({ err }, "registry unreadable; probing seed list");
      this.fromRegistry = false;
      const alive = await Promise.all(this.seeds.map((s) => tcpProbe(splitHostPort(s).host, splitHostPort(s).port, PROBE_TIMEOUT_MS)));
      this.candidates = this.seeds.filter((_, i) => alive[i]).map((addr) => ({ addr, reported: 0, assigned: 0, ws: null, tls: null }));
    }
  }
}
