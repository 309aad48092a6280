import { type ClaimResult, encodeLocation, loginTime, type SessionDirectory, type SessionLocation } from "./session-directory.js";

/**
 * The session table in one process's memory, with the same TTL rules as the Redis one: for unit
 * tests of the msg_server and router cores, held to the same conformance suite as Redis
 * (test/conformance/bus.suite.ts). Several cores in one test may share one instance, as servers
 * share one Redis.
 */
export class MemorySessionDirectory implements SessionDirectory {
  private readonly entries = new Map<string, { loc: SessionLocation; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private live(clientId: string): SessionLocation | null {
    const e = this.entries.get(clientId);
    if (!e) return null;
    if (e.expiresAt <= this.now()) {
      this.entries.delete(clientId);
      return null;
    }
    return e.loc;
  }

  async claim(clientId: string, loc: SessionLocation): Promise<ClaimResult> {
    const old = this.live(clientId);
    if (old && loginTime(old) > loginTime(loc)) return { taken: false, holder: { ...old } };
    this.entries.set(clientId, { loc: { ...loc }, expiresAt: this.now() + this.ttlMs });
    return { taken: true, previous: old ? { ...old } : null };
  }

  async refreshAll(entries: readonly { clientId: string; loc: SessionLocation }[]): Promise<string[]> {
    const lost: string[] = [];
    for (const { clientId, loc } of entries) {
      const cur = this.live(clientId);
      if (cur && encodeLocation(cur) !== encodeLocation(loc)) lost.push(clientId);
      else this.entries.set(clientId, { loc: { ...loc }, expiresAt: this.now() + this.ttlMs });
    }
    return lost;
  }

  async release(clientId: string, loc: SessionLocation): Promise<void> {
    const cur = this.live(clientId);
    if (cur && encodeLocation(cur) === encodeLocation(loc)) this.entries.delete(clientId);
  }

  async lookup(clientId: string): Promise<SessionLocation | null> {
    const cur = this.live(clientId);
    return cur ? { ...cur } : null;
  }

  async online(limit: number): Promise<string[]> {
    const out: string[] = [];
    for (const id of [...this.entries.keys()].sort()) {
      if (out.length >= limit) break;
      if (this.live(id)) out.push(id);
    }
    return out;
  }
}
