import type { Redis } from "ioredis";
import type { Logger } from "../log/logger.js";
import type { RedisKeys } from "./keys.js";

export type Role = "gateway" | "msg_server" | "router" | "manager" | "monitor";

/** What each process says about itself; the monitor shows it, the gateway balances on it. */
export interface ProcessInfo {
  role: Role;
  id: string;
  /** Client-facing "host:port" (msg_server's advertised address; listen address for others). */
  addr: string;
  pid: number;
  version: string;
  startedAt: number;
  /** Sender's clock at the last heartbeat; informative only, liveness uses the TTL key. */
  ts: number;
  /** Counters and gauges (connections, sessions, ...); shape documented in docs/ARCHITECTURE.md. */
  stats: Record<string, number>;
}

export interface RegistryEntry {
  info: ProcessInfo;
  alive: boolean;
}

/** Entries whose process has been gone this long are removed from the hash by readers. */
const FORGET_AFTER_MS = 60 * 60 * 1000;

/**
 * Keeps this process's registry entry fresh: a hash field with the description and a TTL key
 * whose existence means "alive", so liveness never depends on clocks agreeing across machines.
 */
export class RegistryPublisher {
  private timer: NodeJS.Timeout | null = null;
  private readonly field: string;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly base: Omit<ProcessInfo, "ts" | "stats">,
    private readonly intervalMs: number,
    private readonly ttlMs: number,
    private readonly stats: () => Record<string, number>,
    private readonly log: Logger,
  ) {
    this.field = `${base.role}:${base.id}`;
  }

  start(): void {
    void this.beat();
    this.timer = setInterval(() => void this.beat(), this.intervalMs);
    this.timer.unref();
  }

  async beat(): Promise<void> {
    const info: ProcessInfo = { ...this.base, ts: Date.now(), stats: this.stats() };
    try {
      await this.redis
        .multi()
        .hset(this.keys.registry, this.field, JSON.stringify(info))
        .set(this.keys.alive(this.base.role, this.base.id), "1", "PX", this.ttlMs)
        .exec();
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, "registry heartbeat failed");
    }
  }

  /** Graceful stop: drop the alive key at once so nobody waits for the TTL. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    try {
      await this.redis.del(this.keys.alive(this.base.role, this.base.id));
    } catch {
      // Redis gone: the TTL will expire the key.
    }
  }
}

/** Every registered process (optionally of one role) with its liveness. */
export async function readRegistry(redis: Redis, keys: RedisKeys, role?: Role): Promise<RegistryEntry[]> {
  const all = await redis.hgetall(keys.registry);
  const infos: ProcessInfo[] = [];
  for (const [field, json] of Object.entries(all)) {
    if (role && !field.startsWith(`${role}:`)) continue;
    try {
      infos.push(JSON.parse(json) as ProcessInfo);
    } catch {
      // A foreign or corrupt field: ignore rather than fail discovery.
    }
  }
  if (infos.length === 0) return [];
  const alive = await redis.mget(...infos.map((i) => keys.alive(i.role, i.id)));
  const now = Date.now();
  const out: RegistryEntry[] = [];
  const stale: string[] = [];
  infos.forEach((info, i) => {
    const isAlive = alive[i] !== null;
    if (!isAlive && now - info.ts > FORGET_AFTER_MS) stale.push(`${info.role}:${info.id}`);
    else out.push({ info, alive: isAlive });
  });
  if (stale.length > 0) await redis.hdel(keys.registry, ...stale).catch(() => 0);
  return out;
}

/** Start this process's heartbeat: role, id and address, its version and pid, and its stats. */
export function startHeartbeat(
  deps: { redis: Redis; keys: RedisKeys; log: Logger },
  who: { role: Role; id: string; addr: string; version: string },
  timing: { heartbeatMs: number; registryTtlMs: number },
  stats: () => Record<string, number>,
): RegistryPublisher {
  const p = new RegistryPublisher(
    deps.redis,
    deps.keys,
    { ...who, pid: process.pid, startedAt: Date.now() },
    timing.heartbeatMs,
    timing.registryTtlMs,
    stats,
    deps.log,
  );
  p.start();
  return p;
}
