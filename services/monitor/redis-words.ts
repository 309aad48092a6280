/**
 * Redis failures in words an operator can act on. ioredis reports a refused connection as
 * "connect ECONNREFUSED 127.0.0.1:6379" and, while it is disconnected, every command as "Stream
 * isn't writeable and enableOfflineQueue options is false": neither says what is wrong in plain
 * terms, and the second hides the first. The monitor shows these sentences on the dashboard.
 */

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  name?: unknown;
  /** Socket errors name the peer they failed on (a Cluster node, a sentinel). */
  address?: unknown;
  port?: unknown;
  /** ioredis' ClusterAllFailedError keeps the node error behind it. */
  lastNodeError?: unknown;
}

/** Where Redis is: the configured host (for resolution errors) and how to name it. */
export interface RedisWhere {
  host: string;
  port: number;
  /** The subject of a sentence: "Redis Cluster 10.0.0.1:7000, …"; default "Redis at host:port". */
  subject?: string;
}

/** "127.0.0.1:6379", or "[::1]:6379" for an IPv6 literal. */
export function redisAddr(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Errors that only say "not connected": the connection error seen before them says why. */
export function isNotConnected(err: unknown): boolean {
  const m = String((err as ErrorLike | null)?.message ?? "");
  return /Stream isn't writeable|Connection is closed|max retries per request|Cluster isn't ready|offline queue is disabled/i.test(m);
}

/**
 * One sentence for a Redis failure. `host` is the configured host name (for resolution errors),
 * `timeoutMs` what "no answer" waited for.
 */
export function describeRedisError(err: unknown, where: RedisWhere, timeoutMs?: number): string {
  const e = (err ?? {}) as ErrorLike;
  // A Cluster's "all nodes failed" names the last node's error: say that one when it says why
  // (refused, unresolvable), not when it is only "Connection is closed" (what every re-dial of
  // the slot refresh reports once all nodes are gone).
  if (e.lastNodeError && !isNotConnected(e.lastNodeError)) return describeRedisError(e.lastNodeError, where, timeoutMs);
  const code = typeof e.code === "string" ? e.code : "";
  const message = typeof e.message === "string" ? e.message : String(err);
  // The node the socket failed on, when it says (one of a cluster's, a sentinel); else the configuration's name.
  const peer = typeof e.address === "string" && typeof e.port === "number" ? redisAddr(e.address, e.port) : null;
  const at = peer ? `Redis at ${peer}` : (where.subject ?? `Redis at ${redisAddr(where.host, where.port)}`);
  if (/All sentinels are unreachable/i.test(message)) return `${where.subject ?? "Redis"}: none of the sentinels answers`;
  if (/None of startup nodes is available|Failed to refresh slots cache/i.test(message)) return `${where.subject ?? "Redis Cluster"}: none of the nodes answers`;
  switch (code) {
    case "ECONNREFUSED":
      return `${at} refuses connections (is redis-server running?)`;
    case "ETIMEDOUT":
      return `${at} does not accept connections (the connection attempt timed out)`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NONAME":
      return `Cannot resolve the Redis host name "${where.host}" (redis.host)`;
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `${at} is unreachable (no route to the host)`;
    case "ECONNRESET":
    case "EPIPE":
      return `${at} closed the connection`;
    case "ECONNABORTED":
      return `${at} aborted the connection`;
  }
  // Replies from Redis itself start with an upper-case error code.
  const reply = /^([A-Z]+)\b/.exec(message)?.[1] ?? "";
  switch (reply) {
    case "NOAUTH":
      return `${at} requires a password (set redis.password)`;
    case "WRONGPASS":
      return `${at} rejected the password (check redis.password)`;
    case "LOADING":
      return `${at} is still loading its data set into memory`;
    case "MISCONF":
      return `${at} cannot save to disk and refuses writes (see its log)`;
    case "READONLY":
      return `${at} is a read-only replica`;
    case "OOM":
      return `${at} is out of memory (maxmemory reached)`;
    case "BUSY":
      return `${at} is busy running a script`;
    case "CLUSTERDOWN":
      return `${at}: the cluster is down, some slots have no master (CLUSTERDOWN)`;
  }
  if (/invalid password/i.test(message)) return `${at} rejected the password (check redis.password)`;
  if (/Command timed out/i.test(message) || /timed? ?out/i.test(message)) {
    return `${at} does not answer${timeoutMs ? ` (no reply within ${timeoutMs} ms)` : ""}`;
  }
  if (isNotConnected(err)) return `${at} is not connected (reconnecting)`;
  return `${at}: ${message.replace(/\s+/g, " ").trim().slice(0, 200)}`;
}
