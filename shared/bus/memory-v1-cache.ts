import type { V1Cache } from "./v1-cache.js";

/** v1's cache in memory, for unit tests of the manager (same conformance suite as Redis). */
export class MemoryV1Cache implements V1Cache {
  private readonly sessions = new Map<string, { v: Record<string, unknown>; until: number }>();
  private readonly topics = new Map<string, { v: Record<string, unknown>; until: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async putSession(clientId: string, value: object, ttlMs: number): Promise<void> {
    this.sessions.set(clientId, { v: structuredClone(value) as Record<string, unknown>, until: this.now() + ttlMs });
  }

  async dropSessionIfServer(clientId: string, serverId: string): Promise<boolean> {
    const e = this.get(this.sessions, clientId);
    if (!e || e.MsgServerAddr !== serverId) return false;
    this.sessions.delete(clientId);
    return true;
  }

  async putTopic(name: string, value: object, ttlMs: number): Promise<void> {
    this.topics.set(name, { v: structuredClone(value) as Record<string, unknown>, until: this.now() + ttlMs });
  }

  async getSession(clientId: string): Promise<Record<string, unknown> | null> {
    return this.get(this.sessions, clientId);
  }

  async getTopic(name: string): Promise<Record<string, unknown> | null> {
    return this.get(this.topics, name);
  }

  private get(m: Map<string, { v: Record<string, unknown>; until: number }>, k: string): Record<string, unknown> | null {
    const e = m.get(k);
    if (!e) return null;
    if (e.until <= this.now()) {
      m.delete(k);
      return null;
    }
    return structuredClone(e.v);
  }
}
