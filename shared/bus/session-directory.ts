/** Where a client is logged in: the msg_server id and the connection id there. */
export interface SessionLocation {
  serverId: string;
  connId: string;
}

/**
 * The cluster-wide session table: client id -> the msg_server (and connection) holding it. Written
 * only by the msg_server holding the connection, so routing never waits for the manager (v1
 * defect §9 #10). Entries expire unless refreshed, so a crashed server's sessions vanish on their
 * own. Implementations: redis-session-directory.ts (production), memory-session-directory.ts
 * (tests); test/conformance/bus.suite.ts holds both to the same rules.
 */
export interface SessionDirectory {
  /** Take the entry for this login; returns where the client was before (to kick it), if anywhere. */
  claim(clientId: string, loc: SessionLocation): Promise<SessionLocation | null>;
  /**
   * Keep our entries alive (re-creating any that vanished, e.g. after a Redis restart). Returns
   * the client ids another login took over meanwhile: their sessions here must end.
   */
  refreshAll(entries: readonly { clientId: string; loc: SessionLocation }[]): Promise<string[]>;
  /** Drop the entry, but only if it is still ours: a newer login elsewhere must not be unregistered. */
  release(clientId: string, loc: SessionLocation): Promise<void>;
  lookup(clientId: string): Promise<SessionLocation | null>;
  /** Up to `limit` online client ids, cluster-wide, sorted. */
  online(limit: number): Promise<string[]>;
}

export function encodeLocation(loc: SessionLocation): string {
  return `${loc.serverId}|${loc.connId}`;
}

export function decodeLocation(v: string | null | undefined): SessionLocation | null {
  if (!v) return null;
  const i = v.lastIndexOf("|");
  if (i <= 0) return null;
  return { serverId: v.slice(0, i), connId: v.slice(i + 1) };
}
