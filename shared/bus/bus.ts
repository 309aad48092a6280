import type { ControlBus } from "./control-bus.js";
import { MemoryControlBus } from "./memory-control-bus.js";
import { MemoryProcessRegistry } from "./memory-process-registry.js";
import { MemorySessionDirectory } from "./memory-session-directory.js";
import { MemoryV1Cache } from "./memory-v1-cache.js";
import type { ProcessRegistry } from "./process-registry.js";
import type { SessionDirectory } from "./session-directory.js";
import type { V1Cache } from "./v1-cache.js";
import { MemoryRevocations } from "./memory-revocations.js";
import type { RevocationList } from "./revocations.js";

/**
 * Everything a service does with Redis, as small interfaces: the process registry, the session
 * directory, control messages between msg_servers, and v1's cache. Services receive a Bus and
 * never see a Redis client, so a second implementation (Redis Cluster) or an in-memory one for
 * unit tests is a matter of building a different Bus (redis-bus.ts, memoryBus below).
 */
export interface Bus {
  readonly registry: ProcessRegistry;
  readonly sessions: SessionDirectory;
  readonly control: ControlBus;
  readonly v1: V1Cache;
  readonly revocations: RevocationList;
  /** `fn` runs each time the connection to Redis is back after an outage (its data may be gone). */
  onReconnect(fn: () => void): void;
  close(): Promise<void>;
}

/** A Bus in memory. Cores that should see one another (two msg_servers in a test) share one. */
export function memoryBus(o: { sessionTtlMs?: number; now?: () => number } = {}): Bus & { reconnected(): void } {
  const listeners: (() => void)[] = [];
  const control = new MemoryControlBus();
  return {
    registry: new MemoryProcessRegistry(o.now),
    sessions: new MemorySessionDirectory(o.sessionTtlMs ?? 60_000, o.now),
    control,
    v1: new MemoryV1Cache(o.now),
    revocations: new MemoryRevocations(o.now),
    onReconnect: (fn) => listeners.push(fn),
    reconnected: () => {
      for (const fn of listeners) fn();
    },
    close: () => control.close(),
  };
}
