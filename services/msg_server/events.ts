import { Channel, type Command } from "../../shared/protocol/commands.js";
import { encodeEnvelope, type TopicEvent } from "../../shared/protocol/envelope.js";
import type { Session } from "./session.js";

/**
 * Session events for the manager (cache + store) and the router (location cache), in v1's
 * shapes (reference §4, Appendix A) plus `Alive`, which v1 always left true.
 */
export function sessionEvents(serverId: string, session: Session, alive: boolean): [string, Command][] {
  const base = { type: "session" as const, clientId: session.clientId, clientAddr: session.conn.remoteAddr, serverId, connId: session.conn.id, alive, lastSeenMs: Date.now() };
  return [
    [Channel.CLIENT_STATUS, encodeEnvelope({ ...base, target: "cache" })],
    [Channel.CLIENT_INFO, encodeEnvelope({ ...base, target: "store" })],
  ];
}

export type TopicAction = TopicEvent["action"];

/**
 * Topic events. The store already holds the truth (msg_servers write membership before they
 * answer); these tell the manager to refresh v1's `IM:<name>topic` cache and `topic_info`.
 */
export function topicEvents(serverId: string, topic: string, member: string, action: TopicAction): [string, Command][] {
  const base = { type: "topic-event" as const, topic, serverId, member, action };
  return [
    [Channel.TOPIC_STATUS, encodeEnvelope({ ...base, target: "cache" })],
    [Channel.TOPIC_INFO, encodeEnvelope({ ...base, target: "store" })],
  ];
}
