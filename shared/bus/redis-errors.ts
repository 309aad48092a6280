/**
 * Telling "Redis is unreachable" apart from a bug, without importing ioredis: the msg_server's
 * dispatch maps the former to IM_ERR_UNAVAILABLE (docs/ERRORS.md: retry later), and the core
 * stays free of the Redis client.
 */
/** Socket-level codes under which ioredis reports a Redis it cannot reach. */
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EPIPE"]);

/**
 * ioredis' ways of saying "Redis cannot be reached right now": a command failed while
 * disconnected (after its one retry), timed out, or no cluster node answered. These are not
 * bugs of ours, so a client must see IM_ERR_UNAVAILABLE (retry later), not IM_ERR_INTERNAL.
 * ioredis has no common class for them; names and messages are its documented ones.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === "MaxRetriesPerRequestError" || err.name === "ClusterAllFailedError") return true;
  const code = (err as NodeJS.ErrnoException).code;
  if (code && UNREACHABLE_CODES.has(code)) return true;
  return /^(Command timed out|Connection is closed|Stream isn't writeable|None of startup nodes is available|Failed to refresh slots cache)/.test(err.message);
}
