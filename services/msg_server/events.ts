import { Channel, Cmd, type Command } from "../../shared/protocol/commands.js";
import type { Session } from "./session.js";
import type { MsgServer } from "./msg-server.js";

/**
 * Session events for the manager (cache + store) and the router (location cache), in v1's
 * shapes (reference §4, Appendix A) plus `Alive`, which v1 always left true.
 */
export function sessionEvents(srv: MsgServer, session: Session, alive: boolean): [string, Command][] {
  const base = { ClientID: session.clientId, ClientAddr: session.conn.remoteAddr, MsgServerAddr: srv.serverId };
  return [
    [Channel.CLIENT_STATUS, { name: Cmd.CACHE_SESSION, args: [session.clientId], anyData: { ...base, ID: session.conn.id, MaxAge: 0, Alive: alive } }],
    [Channel.CLIENT_INFO, { name: Cmd.STORE_SESSION, args: [session.clientId], anyData: { ...base, Alive: alive, LastSeen: Date.now() } }],
  ];
}

export type TopicAction = "create" | "join" | "quit";

/**
 * Topic events. The store already holds the truth (msg_servers write membership before they
 * answer); these tell the manager to refresh v1's `IM:<name>topic` cache and `topic_info`.
 */
export function topicEvents(srv: MsgServer, topic: string, clientId: string, action: TopicAction): [string, Command][] {
  const data = { TopicName: topic, MsgServerAddr: srv.serverId, Member: clientId, Action: action };
  return [
    [Channel.TOPIC_STATUS, { name: Cmd.CACHE_TOPIC, args: [topic], anyData: data }],
    [Channel.TOPIC_INFO, { name: Cmd.STORE_TOPIC, args: [topic], anyData: data }],
  ];
}

/** Events for a subscriber that just joined a channel, so it starts from the current state (level-triggered). */
export function snapshotFor(srv: MsgServer, channel: string): Command[] {
  switch (channel) {
    case Channel.CLIENT_STATUS:
    case Channel.CLIENT_INFO: {
      const out: Command[] = [];
      for (const s of srv.sessions.values()) {
        for (const [ch, cmd] of sessionEvents(srv, s, true)) if (ch === channel) out.push(cmd);
      }
      return out;
    }
    case Channel.TOPIC_SYNC:
      return srv.topics.snapshot();
    default:
      return [];
  }
}
