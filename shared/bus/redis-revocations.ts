import type { Redis } from "ioredis";
import type { Logger } from "../log/logger.js";
import type { RedisKeys } from "./keys.js";
import type { Revocation, RevocationList } from "./revocations.js";

function parse(json: string): Revocation | null {
  try {
    const r = JSON.parse(json) as Revocation;
    return (r.kind === "token" || r.kind === "user") && typeof r.key === "string" && typeof r.atMs === "number" && typeof r.untilMs === "number" ? r : null;
  } catch {
    return null;
  }
}

/**
 * Revocations in Redis: one hash (field "<kind>:<key>" -> JSON) read whole by each msg_server,
 * and a broadcast pub/sub channel so live sessions close within a second. Expired fields are
 * removed by readers. The hash is one key, so it works unchanged on Redis Cluster.
 */
export class RedisRevocations implements RevocationList {
  private sub: Redis | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly log: Logger,
  ) {}

  async revoke(r: Revocation): Promise<void> {
    const json = JSON.stringify(r);
    await this.redis.hset(this.keys.revocations, `${r.kind}:${r.key}`, json);
    await this.redis.publish(this.keys.revocationEvents, json);
  }

  async all(): Promise<Revocation[]> {
    const raw = await this.redis.hgetall(this.keys.revocations);
    const now = Date.now();
    const out: Revocation[] = [];
    const expired: string[] = [];
    for (const [field, json] of Object.entries(raw)) {
      const r = parse(json);
      if (r && r.untilMs > now) out.push(r);
      else expired.push(field);
    }
    if (expired.length > 0) await this.redis.hdel(this.keys.revocations, ...expired).catch(() => 0);
    return out;
  }

  async watch(fn: (r: Revocation) => void): Promise<void> {
    const sub = (this.sub ??= this.redis.duplicate({ connectionName: `${this.redis.options.connectionName ?? "fishchat"}:revocations` }));
    sub.on("error", (err: Error) => this.log.debug({ err }, "revocation subscriber error"));
    sub.on("message", (ch: string, json: string) => {
      if (ch !== this.keys.revocationEvents) return;
      const r = parse(json);
      if (r) fn(r);
    });
    await sub.subscribe(this.keys.revocationEvents);
  }

  close(): void {
    this.sub?.disconnect();
    this.sub = null;
  }
}
