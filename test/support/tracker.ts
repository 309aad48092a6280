import type { FishChatClient, P2PMessage } from "../../shared/client/client.js";
import { sleep } from "./ports.js";

/**
 * Counts every p2p message of a fault test: what the server acknowledged (OK with uuid) and what
 * the recipient saw, so a test can assert that no acknowledged message was lost and that no
 * message was stored twice. Bodies are "<cmid>" so a retried send is recognisable.
 */
export class Tracker {
  /** cmid -> uuid from the sender's OK. */
  readonly acked = new Map<string, string>();
  /** uuid -> times delivered, over all of the recipient's connections. */
  readonly seen = new Map<string, number>();
  /** cmid -> distinct uuids delivered for it (more than one = stored twice). */
  readonly uuidsByCmid = new Map<string, Set<string>>();
  /** Deliveries of an already-seen uuid on the same connection (must be 0). */
  sameConnDuplicates = 0;
  /** Per connection, the order of cmids received. */
  readonly orders: string[][] = [];
  /** uuid -> when (epoch ms) it first arrived, on any connection. */
  readonly firstSeenAt = new Map<string, number>();

  /** Any client that emits "p2p" (FishChatClient, the WebSocket test client). */
  watch(c: { on(event: "p2p", listener: (m: P2PMessage) => void): unknown }): void {
    const here = new Set<string>();
    const order: string[] = [];
    this.orders.push(order);
    c.on("p2p", (m: P2PMessage) => {
      if (here.has(m.uuid)) this.sameConnDuplicates++;
      here.add(m.uuid);
      order.push(m.body);
      this.seen.set(m.uuid, (this.seen.get(m.uuid) ?? 0) + 1);
      if (!this.firstSeenAt.has(m.uuid)) this.firstSeenAt.set(m.uuid, Date.now());
      let set = this.uuidsByCmid.get(m.body);
      if (!set) this.uuidsByCmid.set(m.body, (set = new Set()));
      set.add(m.uuid);
    });
  }

  /**
   * Send cmids [from, to) in order, retrying each (same cmid) until acknowledged, through
   * whatever client `get()` returns (the test swaps it after a crash).
   */
  async sendAll(get: () => Pick<FishChatClient, "sendP2P">, to: string, from: number, count: number, paceMs = 0): Promise<void> {
    for (let i = from; i < from + count; i++) {
      const cmid = `m${i}`;
      for (let attempt = 0; ; attempt++) {
        try {
          const r = await get().sendP2P(to, cmid, cmid);
          this.acked.set(cmid, r.uuid);
          break;
        } catch {
          if (attempt > 200) throw new Error(`could not send ${cmid}`);
          await sleep(50);
        }
      }
      if (paceMs) await sleep(paceMs);
    }
  }

  /** Acknowledged messages never delivered. */
  lost(): string[] {
    return [...this.acked].filter(([, uuid]) => !this.seen.has(uuid)).map(([cmid]) => cmid);
  }

  /** cmids stored more than once (delivered under two uuids). */
  storedTwice(): string[] {
    return [...this.uuidsByCmid].filter(([, s]) => s.size > 1).map(([cmid]) => cmid);
  }

  /** Per connection: cmids that arrived after a later one (sender order is m0, m1, ...). */
  reordered(): number {
    let n = 0;
    for (const order of this.orders) {
      let max = -1;
      for (const b of order) {
        const i = Number(b.slice(1));
        if (i < max) n++;
        max = Math.max(max, i);
      }
    }
    return n;
  }
}
