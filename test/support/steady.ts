import type { FishChatClient } from "../../shared/client/client.js";
import { ImError } from "../../shared/errors.js";
import { sleep } from "./ports.js";
import type { Tracker } from "./tracker.js";

/** One acknowledged send: when its first attempt started and how long until the OK (retries included). */
export interface AckedSend {
  at: number;
  ms: number;
  uuid: string;
  pair: number;
}

export interface SteadyPair {
  /** The recipient's id; its client(s) must be watched by `tracker`. */
  to: string;
  /** The sender's current client (a reconnecting one may swap it). */
  from: () => Pick<FishChatClient, "sendP2P">;
  tracker: Tracker;
}

/**
 * Steady p2p traffic for fault tests and the chaos run: each pair sends m0, m1, ... one at a time,
 * every `paceMs`, retrying a message with its cmid until it is acknowledged (the store keeps one
 * copy), so the checker (tracker.ts) can count lost, duplicated and reordered messages. It
 * records every acknowledged send's latency (from its first attempt) and every failed attempt's
 * error code, for the tests that bound them.
 */
export class SteadyTraffic {
  readonly acked: AckedSend[] = [];
  /** Distinct messages whose first attempt started (acknowledged or not). */
  sent = 0;
  /** Failed attempts by error code ("other" for errors without one). */
  readonly errors = new Map<string, number>();
  /** Per pair: when it last got an OK. */
  readonly lastAckAt: number[];
  private sending = true;
  private readonly loops: Promise<void>[];

  constructor(
    readonly pairs: SteadyPair[],
    private readonly o: { paceMs: number; retryMs?: number; maxLatencySamples?: number } = { paceMs: 20 },
  ) {
    this.lastAckAt = pairs.map(() => Date.now());
    this.loops = pairs.map((p, i) => this.loop(p, i));
  }

  private async loop(p: SteadyPair, i: number): Promise<void> {
    const cap = this.o.maxLatencySamples ?? 1_000_000;
    for (let n = 0; this.sending; n++) {
      const cmid = `m${n}`;
      this.sent++;
      const at = Date.now();
      const t0 = performance.now();
      for (;;) {
        try {
          const r = await p.from().sendP2P(p.to, cmid, cmid);
          p.tracker.acked.set(cmid, r.uuid);
          this.lastAckAt[i] = Date.now();
          if (this.acked.length < cap) this.acked.push({ at, ms: performance.now() - t0, uuid: r.uuid, pair: i });
          break;
        } catch (err) {
          const code = err instanceof ImError ? err.code : "other";
          this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
          // Stopping: an unacknowledged message counts as never sent.
          if (!this.sending) return;
          await sleep(this.o.retryMs ?? 50);
        }
      }
      await sleep(this.o.paceMs);
    }
  }

  /** Acknowledged so far, over all pairs. */
  count(): number {
    return this.pairs.reduce((n, p) => n + p.tracker.acked.size, 0);
  }

  /** Latencies of the sends whose first attempt started in [from, to). */
  window(from: number, to: number): number[] {
    return this.acked.filter((a) => a.at >= from && a.at < to).map((a) => a.ms);
  }

  /** For the same sends, from the first attempt until the recipient first had it (those delivered so far). */
  deliveryWindow(from: number, to: number): number[] {
    const out: number[] = [];
    for (const a of this.acked) {
      if (a.at < from || a.at >= to) continue;
      const seen = this.pairs[a.pair]!.tracker.firstSeenAt.get(a.uuid);
      if (seen !== undefined) out.push(seen - a.at);
    }
    return out;
  }

  async stop(): Promise<void> {
    this.sending = false;
    await Promise.all(this.loops);
  }
}

/** The q-quantile (0..1) of xs, NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))]!;
}

/** Every checker count over several trackers, as chaos prints them. */
export function checkerCounts(trackers: readonly Tracker[]) {
  const total = (f: (t: Tracker) => number) => trackers.reduce((s, t) => s + f(t), 0);
  return {
    acknowledged: total((t) => t.acked.size),
    delivered: total((t) => [...t.acked.values()].filter((u) => t.seen.has(u)).length),
    lost: total((t) => t.lost().length),
    storedTwice: total((t) => t.storedTwice().length),
    duplicatesOnOneConnection: total((t) => t.sameConnDuplicates),
    outOfOrder: total((t) => t.reordered()),
  };
}
