import type { RedisClient } from "./redis.js";
import type { Logger } from "../log/logger.js";
import type { RedisKeys } from "./keys.js";
import type { Revocation, RevocationList } from "./revocations.js";

/** How long watch() waits for its new connection before leaving the subscription to the first "ready". */
const READY_WAIT_MS = 5000;

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
 * removed by readers. The hash is one key and the channel is broadcast, so the same class serves
 * a standalone Redis, Sentinel and a Redis Cluster.
 */
export class RedisRevocations implements RevocationList {
  private sub: RedisClient | null = null;

  constructor(
    private readonly redis: RedisClient,
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
    // A connection of its own (a subscribed one can do nothing else); on a Cluster, plain pub/sub is broadcast to every node.
    const sub = (this.sub ??= (this.redis as { duplicate(): RedisClient }).duplicate());
    sub.on("error", (err: Error) => this.log.debug({ err }, "revocation subscriber error"));
    sub.on("message", (ch: string, json: string) => {
      if (ch !== this.keys.revocationEvents) return;
      const r = parse(json);
      if (r) fn(r);
    });
    // A fresh connection (a Cluster especially) refuses commands until it is ready: subscribe
    // then. If Redis is down now, this resolves and the subscription is made once it is back.
    const subscribe = () => sub.subscribe(this.keys.revocationEvents).catch((err: unknown) => this.log.warn({ err }, "revocation subscribe failed"));
    if (sub.status === "ready") {
      await subscribe();
      return;
    }
    const ready = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), READY_WAIT_MS);
      sub.once("ready", () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    if (ready) await subscribe();
    else sub.once("ready", () => void subscribe());
  }

  close(): void {
    this.sub?.disconnect();
    this.sub = null;
  }
}
