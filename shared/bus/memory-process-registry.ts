import { FORGET_AFTER_MS, type ProcessInfo, type ProcessRegistry, type RegistryEntry, type Role } from "./process-registry.js";

/** The registry in one process's memory, for unit tests (same conformance suite as Redis). */
export class MemoryProcessRegistry implements ProcessRegistry {
  private readonly entries = new Map<string, { info: ProcessInfo; aliveUntil: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async announce(info: ProcessInfo, ttlMs: number): Promise<void> {
    this.entries.set(`${info.role}:${info.id}`, { info: structuredClone(info), aliveUntil: this.now() + ttlMs });
  }

  async withdraw(role: Role, id: string): Promise<void> {
    const e = this.entries.get(`${role}:${id}`);
    if (e) e.aliveUntil = 0;
  }

  async list(role?: Role): Promise<RegistryEntry[]> {
    const now = this.now();
    const out: RegistryEntry[] = [];
    for (const [key, e] of this.entries) {
      if (role && e.info.role !== role) continue;
      const alive = e.aliveUntil > now;
      if (!alive && now - e.info.ts > FORGET_AFTER_MS) this.entries.delete(key);
      else out.push({ info: structuredClone(e.info), alive });
    }
    return out;
  }
}
