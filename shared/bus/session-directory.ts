/** Where a client is logged in: the msg_server id and the connection id there. */
export interface SessionLocation {
  serverId: string;
  connId: string;
  /**
   * When the login was accepted (ms since the epoch, on the msg_server's clock). A claim with an
   * older time than the entry's is refused: after a partition, a claim that timed out on its
   * server can still reach Redis late, and must not overwrite a newer login. Absent in entries
   * written before it existed (they count as oldest).
   */
  at?: number;
}

/** What a claim did. */
export type ClaimResult =
  /** Ours now; `previous` held it before (to kick), if anyone did. */
  | { taken: true; previous: SessionLocation | null }
  /** Refused: `holder` logged in later than our location's `at` says. */
  | { taken: false; holder: SessionLocation };

/**
 * The cluster-wide session table: client id -> the msg_server (and connection) holding it. Written
 * only by the msg_server holding the connection, so routing never waits for the manager (v1
 * defect §9 #10). Entries expire unless refreshed, so a crashed server's sessions vanish on their
 * own. Implementations: redis-session-directory.ts (production), memory-session-directory.ts
 * (tests); test/conformance/bus.suite.ts holds both to the same rules.
 */
export interface SessionDirectory {
  /**
   * Take the entry for this login, unless it holds a later login (by `at`). When taken, says
   * where the client was before (to kick it), if anywhere.
   */
  claim(clientId: string, loc: SessionLocation): Promise<ClaimResult>;
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

/** `<serverId>|<connId>` or `<serverId>|<connId>#<at>`; the Lua scripts read `#<at>` too. */
export function encodeLocation(loc: SessionLocation): string {
  return loc.at === undefined ? `${loc.serverId}|${loc.connId}` : `${loc.serverId}|${loc.connId}#${loc.at}`;
}

export function decodeLocation(v: string | null | undefined): SessionLocation | null {
  if (!v) return null;
  const i = v.lastIndexOf("|");
  if (i <= 0) return null;
  const rest = v.slice(i + 1);
  const h = rest.indexOf("#");
  if (h < 0) return { serverId: v.slice(0, i), connId: rest };
  const at = Number(rest.slice(h + 1));
  return Number.isSafeInteger(at) ? { serverId: v.slice(0, i), connId: rest.slice(0, h), at } : { serverId: v.slice(0, i), connId: rest.slice(0, h) };
}

/** A location's login time for comparison: entries without one are the oldest. */
export const loginTime = (loc: SessionLocation | null): number => loc?.at ?? 0;
