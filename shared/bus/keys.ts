/**
 * Every Redis key and pub/sub channel FishChat uses, built in one place (bullmq's QueueKeys idea).
 * `prefix` comes from config (`redis.keyPrefix`, default "fc:").
 *
 * Hash tags (`{...}`): keys that one operation touches together share a tag, so on Redis Cluster
 * they live in one slot and MULTI, MGET and scripts keep working. The registry hash and every
 * alive key are read and written together (a heartbeat is one MULTI, discovery one MGET): they
 * share `{registry}`; the registry is small, so one slot is no bottleneck. Session keys are
 * only ever touched one at a time (claim, refresh, release are single-key scripts), so each is
 * left in its own slot and sessions spread over the cluster.
 */
export function redisKeys(prefix: string) {
  const reg = `${prefix}{registry}`;
  return {
    /** Hash: "<role>:<id>" -> JSON ProcessInfo. Descriptive; kept after a process dies so the monitor can show it down. */
    registry: reg,
    /** String with a short PX TTL, refreshed by each heartbeat: exists = the process is alive. */
    alive: (role: string, id: string) => `${reg}:alive:${role}:${id}`,
    /** String "<serverId>|<connId>" with a PX TTL: where a client is logged in right now. */
    session: (clientId: string) => `${prefix}sess:${clientId}`,
    sessionPattern: `${prefix}sess:*`,
    sessionPrefix: `${prefix}sess:`,
    /** Pub/sub channel of one msg_server's control messages (kick of a duplicate login). */
    control: (serverId: string) => `${prefix}ctl:${serverId}`,
    /** Hash: "token:<jti>" | "user:<id>" -> JSON Revocation. Read whole by every msg_server. */
    revocations: `${prefix}revoked`,
    /** Broadcast channel: each new revocation, so live sessions close at once. */
    revocationEvents: `${prefix}revoked:events`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;

/**
 * FishChatServer v1 cache keys (reference §5.2), written by the manager so tools reading v1's
 * Redis layout keep working. Note v1 puts no separator between the id and the suffix, and no
 * prefix: they are v1's names, not ours.
 */
export const v1Keys = {
  session: (clientId: string) => `IM:${clientId}session`,
  topic: (name: string) => `IM:${name}topic`,
};
