import type { SessionDirectory } from "../../shared/bus/session-directory.js";

/**
 * Client -> msg_server, cached in memory so routing a message costs no Redis round trip. Kept
 * fresh by the CACHE_SESSION events every msg_server publishes on login and logout (and replays
 * as a snapshot when we subscribe); a miss falls back to the session directory.
 */
export class LocationCache {
  private readonly map = new Map<string, string>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly directory: SessionDirectory,
    private readonly max: number,
  ) {}

  get size(): number {
    return this.map.size;
  }

  peek(clientId: string): string | undefined {
    const v = this.map.get(clientId);
    if (v !== undefined) this.hits++;
    return v;
  }

  async lookup(clientId: string): Promise<string | null> {
    this.misses++;
    const loc = await this.directory.lookup(clientId);
    if (loc) this.set(clientId, loc.serverId);
    return loc?.serverId ?? null;
  }

  set(clientId: string, serverId: string): void {
    if (this.map.size >= this.max && !this.map.has(clientId)) {
      // Evict the oldest tenth (Map iterates in insertion order): cheap and good enough for a cache.
      let n = Math.ceil(this.max / 10);
      for (const k of this.map.keys()) {
        this.map.delete(k);
        if (--n === 0) break;
      }
    }
    this.map.set(clientId, serverId);
  }

  /** Forget a client, but only if it still points at `serverId` (a newer login elsewhere wins). */
  forget(clientId: string, serverId?: string): void {
    if (serverId === undefined || this.map.get(clientId) === serverId) this.map.delete(clientId);
  }

  /** A msg_server went down: its clients will log in elsewhere. */
  forgetServer(serverId: string): void {
    for (const [k, v] of this.map) if (v === serverId) this.map.delete(k);
  }
}
