/**
 * Command names. v1 names (FishChatServer `protocol/cmd.go`) keep their spelling and argument
 * order; names marked "new" are FishChat extensions. docs/PROTOCOL.md is the reference.
 */
export const Cmd = {
  // v1: client <-> gateway
  REQ_MSG_SERVER: "REQ_MSG_SERVER",
  SELECT_MSG_SERVER_FOR_CLIENT: "SELECT_MSG_SERVER_FOR_CLIENT",
  // v1: client <-> msg_server
  SEND_CLIENT_ID: "SEND_CLIENT_ID",
  SEND_PING: "SEND_PING",
  SEND_MESSAGE_P2P: "SEND_MESSAGE_P2P",
  RESP_MESSAGE_P2P: "RESP_MESSAGE_P2P",
  P2P_ACK: "P2P_ACK",
  CREATE_TOPIC: "CREATE_TOPIC",
  JOIN_TOPIC: "JOIN_TOPIC",
  LOCATE_TOPIC_MSG_ADDR: "LOCATE_TOPIC_MSG_ADDR",
  SEND_MESSAGE_TOPIC: "SEND_MESSAGE_TOPIC",
  RESP_MESSAGE_TOPIC: "RESP_MESSAGE_TOPIC",
  // v1: internal
  SUBSCRIBE_CHANNEL: "SUBSCRIBE_CHANNEL",
  ROUTE_MESSAGE_P2P: "ROUTE_MESSAGE_P2P",
  CACHE_SESSION: "CACHE_SESSION",
  STORE_SESSION: "STORE_SESSION",
  CACHE_TOPIC: "CACHE_TOPIC",
  STORE_TOPIC: "STORE_TOPIC",
  // new: replies
  OK: "OK",
  ERR: "ERR",
  // new: client commands
  QUIT_TOPIC: "QUIT_TOPIC",
  INVITE_TOPIC: "INVITE_TOPIC",
  REMOVE_MEMBER: "REMOVE_MEMBER",
  TOPIC_ADMIN: "TOPIC_ADMIN",
  TOPIC_POLICY: "TOPIC_POLICY",
  TOPIC_OWNER: "TOPIC_OWNER",
  TOPIC_INFO: "TOPIC_INFO",
  TOPIC_ACK: "TOPIC_ACK",
  LIST_TOPICS: "LIST_TOPICS",
  TOPIC_MEMBERS: "TOPIC_MEMBERS",
  MY_TOPICS: "MY_TOPICS",
  ONLINE_USERS: "ONLINE_USERS",
  HISTORY: "HISTORY",
  LOGOUT: "LOGOUT",
  REFRESH_TOKEN: "REFRESH_TOKEN",
  READ: "READ",
  CONVERSATIONS: "CONVERSATIONS",
  TYPING: "TYPING",
  FILES_URL: "FILES_URL",
  HELP: "HELP",
  // new: server pushes
  TOPIC_GAP: "TOPIC_GAP",
  /** You were removed from a topic (REMOVE_MEMBER by its owner or an admin). */
  TOPIC_REMOVED: "TOPIC_REMOVED",
  HISTORY_ITEM: "HISTORY_ITEM",
  KICKED: "KICKED",
  TOKEN_EXPIRING: "TOKEN_EXPIRING",
  GOAWAY: "GOAWAY",
  CONVERSATION: "CONVERSATION",
  READ_RECEIPT: "READ_RECEIPT",
  PRESENCE: "PRESENCE",
  TOPIC_MEMBER: "TOPIC_MEMBER",
  // (TYPING is also the push's name)
  // new: internal
  AUTH: "AUTH",
  UNSUBSCRIBE_CHANNEL: "UNSUBSCRIBE_CHANNEL",
  ROUTE_MESSAGE_TOPIC: "ROUTE_MESSAGE_TOPIC",
  ROUTE_NACK: "ROUTE_NACK",
  TOPIC_ONLINE: "TOPIC_ONLINE",
  TOPIC_OFFLINE: "TOPIC_OFFLINE",
  TOPIC_SNAPSHOT: "TOPIC_SNAPSHOT",
  MONITOR_BEAT: "MONITOR_BEAT",
  RESYNC: "RESYNC",
  /** On a msg_server's Redis control channel, not on links. */
  KICK: "KICK",
  MEMBER_REMOVED: "MEMBER_REMOVED",
  /** On a msg_server's Redis control channel: the server API made a logged-in user a member of a topic. */
  MEMBER_ADDED: "MEMBER_ADDED",
  /** On a msg_server's Redis control channel: a notice (receipt, presence, typing) for its local clients. */
  RELAY: "RELAY",
  // new: internal, the server API's commands (services/api; msg_server handlers/admin-*.ts)
  ADMIN_SEND_P2P: "ADMIN_SEND_P2P",
  ADMIN_SEND_TOPIC: "ADMIN_SEND_TOPIC",
  ADMIN_USER_TOPICS: "ADMIN_USER_TOPICS",
  ADMIN_HISTORY: "ADMIN_HISTORY",
  ADMIN_TOPIC_CREATE: "ADMIN_TOPIC_CREATE",
  ADMIN_TOPIC_DELETE: "ADMIN_TOPIC_DELETE",
  ADMIN_TOPIC_INFO: "ADMIN_TOPIC_INFO",
  ADMIN_TOPIC_MEMBER: "ADMIN_TOPIC_MEMBER",
  ADMIN_TOPIC_OWNER: "ADMIN_TOPIC_OWNER",
  ADMIN_TOPIC_POLICY: "ADMIN_TOPIC_POLICY",
  ADMIN_TOPICS: "ADMIN_TOPICS",
  ADMIN_TOPIC_MEMBERS: "ADMIN_TOPIC_MEMBERS",
  // new: service introspection (every port)
  STATS: "STATS",
} as const;
export type Cmd = (typeof Cmd)[keyof typeof Cmd];

/** v1's seven channel names (`protocol/channel.go`). */
export const Channel = {
  CLIENT_STATUS: "/sysctrl/client-status",
  TOPIC_STATUS: "/sysctrl/topic-status",
  CLIENT_INFO: "/store/client-info",
  TOPIC_INFO: "/store/topic-info",
  SEND: "/sysctrl/send",
  TOPIC_SYNC: "/sysctrl/topic-sync",
  MONITOR: "/sysctrl/monitor",
  /**
   * new: every message SEND carries, for watchers (the server API's webhook). SEND goes to one
   * router of several (each message forwarded once); a watcher must see all, and must never be
   * picked as the one that forwards.
   */
  SEND_WATCH: "/sysctrl/send-watch",
} as const;
export type Channel = (typeof Channel)[keyof typeof Channel];
export const ALL_CHANNELS: readonly string[] = Object.values(Channel);

/**
 * One decoded command, whichever codec carried it. `name` is upper-case. `anyData` is only
 * present on v1 `CmdInternal` packet frames (`AnyData`) and on the monitor beat.
 */
export interface Command {
  name: string;
  args: string[];
  anyData?: unknown;
  /** A client-chosen request id (WebSocket JSON dialect), echoed in the reply; absent on TCP. */
  id?: string | number;
}
