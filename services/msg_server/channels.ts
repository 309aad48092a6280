import { ALL_CHANNELS, type Command } from "../../shared/protocol/commands.js";
import { rendezvousOrder } from "../../shared/net/rendezvous.js";
import type { Conn } from "./session.js";

/**
 * v1's seven channels (reference §4): sets of authenticated internal connections on this
 * msg_server. A publication with AnyData reaches packet-mode subscribers as v1's CmdInternal
 * frame and line-mode ones with the object as one extra JSON argument (the LINE dialect).
 */
export class ChannelHub {
  private readonly subs = new Map<string, Set<Conn>>();

  constructor() {
    for (const ch of ALL_CHANNELS) this.subs.set(ch, new Set());
  }

  has(channel: string): boolean {
    return this.subs.has(channel);
  }

  subscribe(channel: string, conn: Conn): void {
    this.subs.get(channel)?.add(conn);
    (conn.state.channels ??= new Set()).add(channel);
  }

  unsubscribe(channel: string, conn: Conn): void {
    this.subs.get(channel)?.delete(conn);
    conn.state.channels?.delete(channel);
  }

  dropConnection(conn: Conn): void {
    if (!conn.state.channels) return;
    for (const ch of conn.state.channels) this.subs.get(ch)?.delete(conn);
    conn.state.channels = null;
  }

  subscriberCount(channel: string): number {
    return this.subs.get(channel)?.size ?? 0;
  }

  /** Publish to every subscriber, each in its own dialect (line mode carries AnyData as a last JSON argument). Returns how many got it. */
  publish(channel: string, cmd: Command): number {
    const set = this.subs.get(channel);
    if (!set || set.size === 0) return 0;
    let n = 0;
    for (const conn of set) if (conn.send(cmd)) n++;
    return n;
  }

  /**
   * Send to one subscriber: the one `key` hashes to among the current subscribers (rendezvous
   * hashing by subscriber id), or, if it cannot take it, the next in that order. Routed messages
   * go this way so that with several routers each message is forwarded by exactly one. Returns
   * whether one took it.
   */
  publishOne(channel: string, key: string, cmd: Command): boolean {
    const set = this.subs.get(channel);
    if (!set || set.size === 0) return false;
    if (set.size === 1) {
      for (const conn of set) return conn.send(cmd);
    }
    for (const conn of rendezvousOrder(key, set, (c) => c.state.subscriberId)) if (conn.send(cmd)) return true;
    return false;
  }
}
