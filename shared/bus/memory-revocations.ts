import type { Revocation, RevocationList } from "./revocations.js";

/** Revocations within one process (unit tests). */
export class MemoryRevocations implements RevocationList {
  private readonly entries = new Map<string, Revocation>();
  private readonly watchers = new Set<(r: Revocation) => void>();

  constructor(private readonly now: () => number = Date.now) {}

  async revoke(r: Revocation): Promise<void> {
    this.entries.set(`${r.kind}:${r.key}`, { ...r });
    for (const fn of this.watchers) setImmediate(() => fn({ ...r }));
  }

  async all(): Promise<Revocation[]> {
    const now = this.now();
    return [...this.entries.values()].filter((r) => r.untilMs > now).map((r) => ({ ...r }));
  }

  async watch(fn: (r: Revocation) => void): Promise<void> {
    this.watchers.add(fn);
  }
}
