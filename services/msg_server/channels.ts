import { ALL_CHANNELS, type Command } from "../../shared/protocol/commands.js";
import type { Conn } from "./session.js";

/**
 * v1's seven channels (reference §4): sets of authenticated internal connections on this
 * msg_server. Unlike v1, a publication with AnyData reaches line-mode subscribers as one extra
 * JSON argument, and packet-mode subscribers as v1's CmdInternal frame.
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
    conn.state.channels.add(channel);
  }

  unsubscribe(channel: string, conn: Conn): void {
    this.subs.get(channel)?.delete(conn);
    conn.state.channels.delete(channel);
  }

  dropConnection(conn: Conn): void {
    for (const ch of conn.state.channels) this.subs.get(ch)?.delete(conn);
    conn.state.channels.clear();
  }

  subscriberCount(channel: string): number {
    return this.subs.get(channel)?.size ?? 0;
  }

  /** Send one channel message to one subscriber in the form its codec expects. */
  static sendTo(conn: Conn, cmd: Command): boolean {
    if (conn.codec === "packet" || cmd.anyData === undefined) return conn.send(cmd);
    return conn.send({ name: cmd.name, args: [...cmd.args, JSON.stringify(cmd.anyData)] });
  }

  /** Publish to every subscriber. Returns how many subscribers got it. */
  publish(channel: string, cmd: Command): number {
    const set = this.subs.get(channel);
    if (!set || set.size === 0) return 0;
    let lineForm: Command | null = null;
    let n = 0;
    for (const conn of set) {
      if (conn.codec === "packet" || cmd.anyData === undefined) {
        if (conn.send(cmd)) n++;
      } else {
        lineForm ??= { name: cmd.name, args: [...cmd.args, JSON.stringify(cmd.anyData)] };
        if (conn.send(lineForm)) n++;
      }
    }
    return n;
  }
}
