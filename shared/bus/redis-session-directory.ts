import type { Redis } from "ioredis";
import type { RedisKeys } from "./keys.js";
import type { RedisClient } from "./redis.js";
import { type ClaimResult, decodeLocation, encodeLocation, loginTime, type SessionDirectory, type SessionLocation } from "./session-directory.js";

// KEYS[1] session key; ARGV[1] "<serverId>|<connId>#<at>"; ARGV[2] ttl ms; ARGV[3] at (login ms).
// Takes the entry unless it holds a later login: returns {1, previous owner or false} or {0, holder}.
// The time is compared here, in the one place every claim passes through, because a claim that
// timed out on its server (a partition) can still reach Redis after a newer login's.
const CLAIM = `
local old = redis.call('GET', KEYS[1])
if old then
  local at = tonumber(string.match(old, '#(%d+)$') or '0')
  if at > tonumber(ARGV[3]) then return {0, old} end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, old}`;

// Extend the TTL if we still own the key; re-create it if it vanished (Redis restarted without
// the data, or it expired during a stall). Returns 1 when we own it, 0 when someone else does.
const REFRESH = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;

// The same for many keys at once (standalone Redis, where a script may touch any keys):
// KEYS the session keys; ARGV[1] ttl ms, ARGV[1 + i] the location KEYS[i] should hold. Returns
// the 1-based indexes of the keys another login holds. One call replaces one script call per
// session: at 19,000 sessions a refresh was 19,000 commands, each an ioredis Command with its
// promise and argument arrays (~1 KB of garbage per session every sessionTtlMs / 3).
const REFRESH_MANY = `
local lost = {}
for i = 1, #KEYS do
  local cur = redis.call('GET', KEYS[i])
  if cur == ARGV[i + 1] then redis.call('PEXPIRE', KEYS[i], ARGV[1])
  elseif not cur then redis.call('SET', KEYS[i], ARGV[i + 1], 'PX', ARGV[1])
  else lost[#lost + 1] = i end
end
return lost`;

// Delete only if we still own it: a newer login elsewhere must not be unregistered by our logout.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

type ScriptFn = (key: string, ...argv: (string | number)[]) => Promise<unknown>;
interface Scripted {
  fcClaim: ScriptFn;
  fcRefresh: ScriptFn;
  fcRelease: ScriptFn;
  /** numkeys, then the keys, then ARGV (a command defined without a fixed numberOfKeys). */
  fcRefreshMany: (numKeys: number, ...args: (string | number)[]) => Promise<unknown>;
}

/** Refresh pipelines are cut into batches of this many keys: one huge pipeline would block Redis. */
export const REFRESH_BATCH = 5000;

/**
 * Keys per REFRESH_MANY call. A script runs atomically, so this bounds how long one call holds
 * Redis from its other clients: 200 GET + PEXPIRE pairs take ~0.5 ms of Redis CPU on the test
 * machine (BENCHMARKS.md, "The session refresh").
 */
export const REFRESH_MANY_KEYS = 200;

export type RefreshEntry = { clientId: string; loc: SessionLocation };

/**
 * The session table in Redis: one string key per client with a PX TTL, changed only by Lua
 * scripts. Every operation but refreshAll and online touches one key, so on Redis Cluster only
 * those two differ (cluster-session-directory.ts).
 */
export class RedisSessionDirectory implements SessionDirectory {
  private readonly scripts: Scripted;

  constructor(
    protected readonly redis: RedisClient,
    protected readonly keys: RedisKeys,
    protected readonly ttlMs: number,
  ) {
    // defineCommand sends EVALSHA and falls back to EVAL once after a Redis restart flushed the script cache.
    redis.defineCommand("fcClaim", { numberOfKeys: 1, lua: CLAIM });
    redis.defineCommand("fcRefresh", { numberOfKeys: 1, lua: REFRESH });
    redis.defineCommand("fcRelease", { numberOfKeys: 1, lua: RELEASE });
    redis.defineCommand("fcRefreshMany", { lua: REFRESH_MANY });
    this.scripts = redis as unknown as Scripted;
  }

  async claim(clientId: string, loc: SessionLocation): Promise<ClaimResult> {
    const [taken, old] = (await this.scripts.fcClaim(this.keys.session(clientId), encodeLocation(loc), this.ttlMs, loginTime(loc))) as [number, string | null];
    const prev = decodeLocation(old);
    if (taken === 1 || !prev) return { taken: true, previous: prev };
    return { taken: false, holder: prev };
  }

  async refreshAll(entries: readonly RefreshEntry[]): Promise<string[]> {
    const lost: string[] = [];
    for (let i = 0; i < entries.length; i += REFRESH_BATCH) lost.push(...(await this.refreshMany(entries.slice(i, i + REFRESH_BATCH))));
    return lost;
  }

  /**
   * One pipeline of REFRESH_MANY calls of REFRESH_MANY_KEYS keys each. A call that failed counts
   * its keys as neither kept nor lost (the next refresh retries them), as in refreshPipelined.
   */
  private async refreshMany(batch: readonly RefreshEntry[]): Promise<string[]> {
    const pipe = this.redis.pipeline() as unknown as Scripted & { exec(): Promise<[Error | null, unknown][] | null> };
    for (let i = 0; i < batch.length; i += REFRESH_MANY_KEYS) {
      const part = batch.slice(i, i + REFRESH_MANY_KEYS);
      void pipe.fcRefreshMany(part.length, ...part.map((e) => this.keys.session(e.clientId)), this.ttlMs, ...part.map((e) => encodeLocation(e.loc)));
    }
    const results = (await pipe.exec()) ?? [];
    const lost: string[] = [];
    results.forEach(([err, v], call) => {
      if (err || !Array.isArray(v)) return;
      for (const k of v as number[]) lost.push(batch[call * REFRESH_MANY_KEYS + k - 1]!.clientId);
    });
    return lost;
  }

  /**
   * One pipeline of single-key refresh scripts, for Redis Cluster: there a script may only touch
   * keys of one hash slot, and session keys spread over all of them, all keys of one pipeline
   * being served by one group of nodes (cluster-session-directory.ts).
   * Returns the ids another login holds; entries whose script failed count as neither (the next
   * refresh retries them).
   */
  protected async refreshPipelined(batch: readonly RefreshEntry[]): Promise<string[]> {
    const pipe = this.redis.pipeline() as unknown as Scripted & { exec(): Promise<[Error | null, unknown][] | null> };
    for (const e of batch) void pipe.fcRefresh(this.keys.session(e.clientId), encodeLocation(e.loc), this.ttlMs);
    const results = (await pipe.exec()) ?? [];
    const lost: string[] = [];
    results.forEach(([err, v], j) => {
      if (!err && v === 0) lost.push(batch[j]!.clientId);
    });
    return lost;
  }

  /** The refresh script alone (the cluster directory's fallback when a pipeline cannot be sent). */
  protected refreshOne(e: RefreshEntry): Promise<unknown> {
    return this.scripts.fcRefresh(this.keys.session(e.clientId), encodeLocation(e.loc), this.ttlMs);
  }

  async release(clientId: string, loc: SessionLocation): Promise<void> {
    await this.scripts.fcRelease(this.keys.session(clientId), encodeLocation(loc));
  }

  async lookup(clientId: string): Promise<SessionLocation | null> {
    return decodeLocation(await this.redis.get(this.keys.session(clientId)));
  }

  /** By SCAN (never KEYS, which blocks Redis). */
  async online(limit: number): Promise<string[]> {
    return (await this.scanSessions(this.redis as Redis, limit)).sort();
  }

  /** Up to `limit` client ids with a session key on one server, in SCAN order. */
  protected async scanSessions(node: Redis, limit: number): Promise<string[]> {
    const out: string[] = [];
    let cursor = "0";
    const cut = this.keys.sessionPrefix.length;
    do {
      const [next, batch] = await node.scan(cursor, "MATCH", this.keys.sessionPattern, "COUNT", 1000);
      cursor = next;
      for (const k of batch) {
        if (out.length >= limit) break;
        out.push(k.slice(cut));
      }
    } while (cursor !== "0" && out.length < limit);
    return out;
  }
}
