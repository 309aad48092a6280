import type { RedisClient } from "./redis.js";
import type { RedisKeys } from "./keys.js";
import { FORGET_AFTER_MS, type ProcessInfo, type ProcessRegistry, type RegistryEntry, type Role } from "./process-registry.js";

/**
 * The registry in Redis: a hash `<prefix>{registry}` of JSON entries, field "<role>:<id>", and a
 * key per process with a PX TTL whose existence means alive. All share one hash tag, so the
 * heartbeat MULTI and the discovery MGET stay in one slot on Redis Cluster.
 */
export class RedisProcessRegistry implements ProcessRegistry {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async announce(info: ProcessInfo, ttlMs: number): Promise<void> {
    await this.redis
      .multi()
      .hset(this.keys.registry, `${info.role}:${info.id}`, JSON.stringify(info))
      .set(this.keys.alive(info.role, info.id), "1", "PX", ttlMs)
      .exec();
  }

  async withdraw(role: Role, id: string): Promise<void> {
    await this.redis.del(this.keys.alive(role, id));
  }

  async list(role?: Role): Promise<RegistryEntry[]> {
    const all = await this.redis.hgetall(this.keys.registry);
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
    const alive = await this.redis.mget(...infos.map((i) => this.keys.alive(i.role, i.id)));
    const now = Date.now();
    const out: RegistryEntry[] = [];
    const stale: string[] = [];
    infos.forEach((info, i) => {
      const isAlive = alive[i] !== null;
      if (!isAlive && now - info.ts > FORGET_AFTER_MS) stale.push(`${info.role}:${info.id}`);
      else out.push({ info, alive: isAlive });
    });
    if (stale.length > 0) await this.redis.hdel(this.keys.registry, ...stale).catch(() => 0);
    return out;
  }
}
