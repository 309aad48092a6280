/**
 * Cluster-wide token revocation. A revoked token id (`jti`) is refused at login and its live
 * sessions close; a revoked user has every token issued before the revocation refused, and every
 * live session closed. Entries expire (`untilMs`): after the longest a token can live, a
 * revocation has nothing left to stop. Implementations: redis-revocations.ts (a hash plus a
 * broadcast channel), memory-revocations.ts; one conformance suite.
 */
export interface Revocation {
  kind: "token" | "user";
  /** The jti, or the client id. */
  key: string;
  /** When it was revoked (ms): a user's tokens issued before this are refused. */
  atMs: number;
  /** When the entry may be forgotten (ms). */
  untilMs: number;
}

export interface RevocationList {
  revoke(r: Revocation): Promise<void>;
  /** Every entry that has not expired. */
  all(): Promise<Revocation[]>;
  /** Called for each new revocation anywhere in the cluster (best effort: readers also reload all() periodically). */
  watch(fn: (r: Revocation) => void): Promise<void>;
}

/** What a login or a live session is checked against. */
export interface TokenFacts {
  sub: string;
  jti?: string;
  /** Issued-at, seconds; a token without one counts as issued at the epoch. */
  iat?: number;
}

/**
 * The revocations one process holds in memory, so a login is checked without a Redis round trip:
 * loaded at start, updated by watch() events, reloaded every `reloadMs` to catch any it missed
 * and to drop expired ones.
 */
export class RevocationCache {
  private tokens = new Map<string, Revocation>();
  private users = new Map<string, Revocation>();

  apply(r: Revocation): void {
    const map = r.kind === "token" ? this.tokens : this.users;
    const cur = map.get(r.key);
    if (!cur || cur.atMs < r.atMs) map.set(r.key, r);
  }

  replace(all: readonly Revocation[]): void {
    this.tokens = new Map();
    this.users = new Map();
    for (const r of all) this.apply(r);
  }

  /** The revocation that applies to this token, if any. */
  match(t: TokenFacts, nowMs = Date.now()): Revocation | null {
    const byJti = t.jti ? this.tokens.get(t.jti) : undefined;
    if (byJti && byJti.untilMs > nowMs) return byJti;
    const byUser = this.users.get(t.sub);
    if (byUser && byUser.untilMs > nowMs && (t.iat ?? 0) * 1000 <= byUser.atMs) return byUser;
    return null;
  }

  get size(): number {
    return this.tokens.size + this.users.size;
  }
}
