import { connect } from "node:net";
import type { Redis } from "ioredis";
import type { Logger } from "../../shared/log/logger.js";
import type { RedisKeys } from "../../shared/bus/keys.js";
import { readRegistry } from "../../shared/bus/registry.js";
import { splitHostPort } from "../../shared/config/common.js";

interface Candidate {
  addr: string;
  /** Connections the server reported in its last heartbeat... */
  reported: number;
  /** ...plus clients we sent there since, so a burst of logins does not all land on one server. */
  assigned: number;
}

const PROBE_TIMEOUT_MS = 300;

/**
 * Chooses the live msg_server with the fewest connections. Liveness comes from the Redis
 * registry (heartbeat keys with a short TTL), so a dead server is never handed out; when Redis
 * cannot be read, seeds that accept a TCP connection are used instead (v1 picked at random from a
 * static list, reference §2.2).
 */
export class Balancer {
  private candidates: Candidate[] = [];
  private fromRegistry = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
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
    let best: Candidate | null = null;
    for (const c of this.candidates) {
      if (!best || c.reported + c.assigned < best.reported + best.assigned) best = c;
    }
    if (!best) return null;
    best.assigned++;
    return best.addr;
  }

  async refresh(): Promise<void> {
    try {
      const entries = await readRegistry(this.redis, this.keys, "msg_server");
      this.candidates = entries
        .filter((e) => e.alive)
        .map((e) => ({ addr: e.info.addr, reported: e.info.stats.connections ?? 0, assigned: 0 }));
      if (!this.fromRegistry) this.log.info({ live: this.candidates.length }, "using the Redis registry");
      this.fromRegistry = true;
    } catch (err) {
      if (this.fromRegistry) this.log.warn({ err: (err as Error).message }, "registry unreadable; probing seed list");
      this.fromRegistry = false;
      const alive = await Promise.all(this.seeds.map((s) => probe(s)));
      this.candidates = this.seeds.filter((_, i) => alive[i]).map((addr) => ({ addr, reported: 0, assigned: 0 }));
    }
  }
}

function probe(addr: string): Promise<boolean> {
  const { host, port } = splitHostPort(addr);
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}
