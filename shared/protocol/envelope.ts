/**
 * Every message FishChat processes send each other, one type each, with one encode/parse pair:
 * msg_server, router, manager and monitor all go through this file, so a message means the same
 * thing wherever it is read. On the wire each is a command of the line protocol (readable with
 * `nc`), or a v1 packet frame for a v1 subscriber; the v1 shapes (CACHE_SESSION & co. with their
 * AnyData objects) are kept where v1 defined them. Whether links should switch to a binary
 * framing is decided here and only here (see BENCHMARKS.md).
 *
 * Commands a link sends to a msg_server to set itself up (AUTH, SUBSCRIBE_CHANNEL, SEND_PING,
 * STATS) are ordinary commands, not envelopes.
 */
import { CommandError, ErrorCode } from "../errors.js";
import { Cmd, type Command } from "./commands.js";
import { p2pConversation } from "./conversation.js";
import type { MessageView } from "./dialect.js";
import { type Notice, noticeLine, parseNotice } from "./notices.js";

/** A committed p2p message on its way to the recipient's msg_server (msg_server -> router -> msg_server). */
export interface RouteP2P {
  type: "route-p2p";
  to: string;
  from: string;
  body: string;
  uuid: string;
  /** Position in the recipient's inbox. */
  ipos: number;
  seq: number;
  ts: number;
}

/** The recipient was not on the server the router sent it to: the router's location cache is stale. */
export interface RouteNack {
  type: "route-nack";
  to: string;
  uuid: string;
  ipos: number;
}

/** A route to this client was lost: its msg_server should read the client's inbox from the store now. */
export interface Resync {
  type: "resync";
  clientId: string;
}

/** A committed topic message for the other servers with members of the topic online. */
export interface RouteTopic {
  type: "route-topic";
  topic: string;
  from: string;
  body: string;
  uuid: string;
  seq: number;
  ts: number;
}

/** Topics whose first local member arrived, whose last left, or that a new subscriber should know of. */
export interface TopicPresence {
  type: "topic-online" | "topic-offline" | "topic-snapshot";
  topics: string[];
}

/** A login or logout, for the manager (v1 cache and client records) and the router (location cache). */
export interface SessionEvent {
  type: "session";
  /** CACHE_SESSION (Redis cache, /sysctrl/client-status) or STORE_SESSION (client record, /store/client-info). */
  target: "cache" | "store";
  clientId: string;
  clientAddr: string;
  serverId: string;
  connId: string;
  alive: boolean;
  lastSeenMs: number;
}

/** A topic was created, joined or quit: the manager refreshes v1's topic cache and record from the store. */
export interface TopicEvent {
  type: "topic-event";
  target: "cache" | "store";
  topic: string;
  serverId: string;
  member: string;
  action: "create" | "join" | "quit" | "remove";
}

/** A msg_server's periodic stats for the monitor; v1's `{"SessionNum":N}` stays first. */
export interface MonitorBeat {
  type: "monitor-beat";
  sessionNum: number;
  serverId?: string;
  ts?: number;
  stats: Record<string, number>;
}

/** Close the connection `connId` of `clientId` (a newer login elsewhere). Travels on a msg_server's control channel. */
export interface Kick {
  type: "kick";
  clientId: string;
  connId: string;
}

/** `clientId` was removed from `topic` (REMOVE_MEMBER): the server holding its session stops its deliveries at once. */
export interface MemberRemoved {
  type: "member-removed";
  topic: string;
  clientId: string;
}

/**
 * `clientId` was made a member of `topic` by the server API (not by its own JOIN_TOPIC): the
 * server holding its session starts delivering the topic after `seq` at once.
 */
export interface MemberAdded {
  type: "member-added";
  topic: string;
  clientId: string;
  seq: number;
}

/** The control messages between msg_servers (Redis control bus). */
export type Control = Kick | MemberRemoved | MemberAdded | Relay;
export const CONTROL_TYPES: ReadonlySet<Envelope["type"]> = new Set(["kick", "member-removed", "member-added", "relay"]);

export type Envelope = RouteP2P | RouteNack | Resync | RouteTopic | TopicPresence | SessionEvent | TopicEvent | MonitorBeat | Kick | MemberRemoved | MemberAdded | Relay;

/**
 * A notice (read receipt, presence, typing, topic membership) for clients of the receiving
 * msg_server: the listed ones and its online members of the listed topics, each once, never
 * `except`. Travels on that server's control channel (docs/PROTOCOL.md, "Cross-server delivery
 * of notices"); never stored.
 */
export interface Relay {
  type: "relay";
  to: string[];
  topics: string[];
  /** The client the notice is about ("" for none). */
  except: string;
  notice: Notice;
}

/** Recipients or topics one RELAY may name (a sender splits larger sets). */
export const RELAY_MAX_NAMES = 1000;

const NAME_OF_PRESENCE = { "topic-online": Cmd.TOPIC_ONLINE, "topic-offline": Cmd.TOPIC_OFFLINE, "topic-snapshot": Cmd.TOPIC_SNAPSHOT } as const;

/** The command carrying an envelope. */
export function encodeEnvelope(e: Envelope): Command {
  switch (e.type) {
    case "route-p2p":
      return { name: Cmd.ROUTE_MESSAGE_P2P, args: [e.to, e.body, e.from, e.uuid, String(e.ipos), String(e.seq), String(e.ts)] };
    case "route-nack":
      return { name: Cmd.ROUTE_NACK, args: [e.to, e.uuid, String(e.ipos)] };
    case "resync":
      return { name: Cmd.RESYNC, args: [e.clientId] };
    case "route-topic":
      return { name: Cmd.ROUTE_MESSAGE_TOPIC, args: [e.topic, e.body, e.from, e.uuid, String(e.seq), String(e.ts)] };
    case "topic-online":
    case "topic-offline":
    case "topic-snapshot":
      return { name: NAME_OF_PRESENCE[e.type], args: e.topics };
    case "session": {
      const v1 = { ClientID: e.clientId, ClientAddr: e.clientAddr, MsgServerAddr: e.serverId };
      return e.target === "cache"
        ? { name: Cmd.CACHE_SESSION, args: [e.clientId], anyData: { ...v1, ID: e.connId, MaxAge: 0, Alive: e.alive } }
        : { name: Cmd.STORE_SESSION, args: [e.clientId], anyData: { ...v1, Alive: e.alive, LastSeen: e.lastSeenMs } };
    }
    case "topic-event":
      return {
        name: e.target === "cache" ? Cmd.CACHE_TOPIC : Cmd.STORE_TOPIC,
        args: [e.topic],
        anyData: { TopicName: e.topic, MsgServerAddr: e.serverId, Member: e.member, Action: e.action },
      };
    case "monitor-beat":
      return { name: Cmd.MONITOR_BEAT, args: [], anyData: { SessionNum: e.sessionNum, ServerId: e.serverId, Ts: e.ts, Stats: e.stats } };
    case "kick":
      return { name: Cmd.KICK, args: [e.clientId, e.connId] };
    case "member-removed":
      return { name: Cmd.MEMBER_REMOVED, args: [e.topic, e.clientId] };
    case "member-added":
      return { name: Cmd.MEMBER_ADDED, args: [e.topic, e.clientId, String(e.seq)] };
    case "relay": {
      const push = noticeLine(e.notice);
      return { name: Cmd.RELAY, args: [e.except, String(e.to.length), ...e.to, String(e.topics.length), ...e.topics, push.name, ...push.args] };
    }
  }
}

/** RELAY <except> <n> <to>... <m> <topic>... <PUSH> <args>... */
function parseRelay(a: string[]): Relay {
  const usage = "RELAY <except> <n> <to>... <m> <topic>... <PUSH> <args>...";
  const count = (i: number): number => {
    const n = Number(a[i]);
    if (!/^\d{1,4}$/.test(a[i] ?? "") || n > RELAY_MAX_NAMES || i + 1 + n > a.length) throw bad(usage);
    return n;
  };
  const except = a[0];
  if (except === undefined) throw bad(usage);
  const n = count(1);
  const to = a.slice(2, 2 + n);
  const m = count(2 + n);
  const topics = a.slice(3 + n, 3 + n + m);
  const name = a[3 + n + m];
  if (name === undefined) throw bad(usage);
  return { type: "relay", except, to, topics, notice: parseNotice({ name, args: a.slice(4 + n + m) }) };
}

function bad(usage: string): CommandError {
  return new CommandError(ErrorCode.IM_ERR_BAD_ARGS, `usage: ${usage}`);
}

function posInt(s: string | undefined): number | null {
  const n = Number(s);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/** AnyData of a v1 frame, or (line mode) the JSON object in the last argument. */
function dataOf(cmd: Command, index: number): Record<string, unknown> {
  let v: unknown = cmd.anyData;
  if (v === undefined) {
    try {
      v = JSON.parse(cmd.args[index] ?? "null");
    } catch {
      v = null;
    }
  }
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

const str = (v: unknown, dflt = ""): string => (typeof v === "string" ? v : dflt);

/**
 * The envelope a command carries, or null when the command is not an internal message. A command
 * that is one but is malformed throws CommandError(IM_ERR_BAD_ARGS) with its usage.
 */
export function parseEnvelope(cmd: Command): Envelope | null {
  const a = cmd.args;
  switch (cmd.name) {
    case Cmd.ROUTE_MESSAGE_P2P: {
      const [to, body, from, uuid, ipos, seq, ts] = a;
      const ip = posInt(ipos);
      const sq = Number(seq);
      if (to === undefined || body === undefined || from === undefined || uuid === undefined || ip === null || !Number.isSafeInteger(sq)) {
        throw bad("ROUTE_MESSAGE_P2P <to> <msg> <from> <uuid> <ipos> <seq> <ts>");
      }
      return { type: "route-p2p", to, from, body, uuid, ipos: ip, seq: sq, ts: Number(ts) || Date.now() };
    }
    case Cmd.ROUTE_NACK: {
      const ip = posInt(a[2]);
      if (!a[0] || a[1] === undefined || ip === null) throw bad("ROUTE_NACK <to> <uuid> <ipos>");
      return { type: "route-nack", to: a[0], uuid: a[1], ipos: ip };
    }
    case Cmd.RESYNC:
      if (a.length !== 1 || !a[0]) throw bad("RESYNC <clientId>");
      return { type: "resync", clientId: a[0] };
    case Cmd.ROUTE_MESSAGE_TOPIC: {
      const [topic, body, from, uuid, seq, ts] = a;
      const sq = posInt(seq);
      if (topic === undefined || body === undefined || from === undefined || uuid === undefined || sq === null) {
        throw bad("ROUTE_MESSAGE_TOPIC <name> <msg> <from> <uuid> <seq> <ts>");
      }
      return { type: "route-topic", topic, from, body, uuid, seq: sq, ts: Number(ts) || Date.now() };
    }
    case Cmd.TOPIC_ONLINE:
      return { type: "topic-online", topics: a };
    case Cmd.TOPIC_OFFLINE:
      return { type: "topic-offline", topics: a };
    case Cmd.TOPIC_SNAPSHOT:
      return { type: "topic-snapshot", topics: a };
    case Cmd.CACHE_SESSION:
    case Cmd.STORE_SESSION: {
      if (!a[0]) throw bad(`${cmd.name} <clientId> <json>`);
      const d = dataOf(cmd, 1);
      return {
        type: "session",
        target: cmd.name === Cmd.CACHE_SESSION ? "cache" : "store",
        clientId: a[0],
        clientAddr: str(d.ClientAddr),
        serverId: str(d.MsgServerAddr),
        connId: str(d.ID),
        alive: d.Alive !== false,
        lastSeenMs: typeof d.LastSeen === "number" ? d.LastSeen : Date.now(),
      };
    }
    case Cmd.CACHE_TOPIC:
    case Cmd.STORE_TOPIC: {
      if (!a[0]) throw bad(`${cmd.name} <name> <json>`);
      const d = dataOf(cmd, 1);
      const action = str(d.Action, "create");
      return {
        type: "topic-event",
        target: cmd.name === Cmd.CACHE_TOPIC ? "cache" : "store",
        topic: a[0],
        serverId: str(d.MsgServerAddr),
        member: str(d.Member),
        action: action === "join" || action === "quit" || action === "remove" ? action : "create",
      };
    }
    case Cmd.MONITOR_BEAT: {
      // Line-mode subscribers get the beat object as the last argument; a v1 beat is only {"SessionNum":N}.
      const d = dataOf(cmd, a.length - 1);
      const stats = numericOnly(d.Stats);
      return {
        type: "monitor-beat",
        sessionNum: typeof d.SessionNum === "number" ? d.SessionNum : (stats.sessions ?? 0),
        serverId: typeof d.ServerId === "string" ? d.ServerId : undefined,
        ts: typeof d.Ts === "number" ? d.Ts : undefined,
        stats,
      };
    }
    case Cmd.KICK:
      if (a.length !== 2 || !a[0] || !a[1]) throw bad("KICK <clientId> <connId>");
      return { type: "kick", clientId: a[0], connId: a[1] };
    case Cmd.MEMBER_REMOVED:
      if (a.length !== 2 || !a[0] || !a[1]) throw bad("MEMBER_REMOVED <topic> <clientId>");
      return { type: "member-removed", topic: a[0], clientId: a[1] };
    case Cmd.MEMBER_ADDED:
      if (a.length !== 3 || !a[0] || !a[1] || !/^\d{1,16}$/.test(a[2] ?? "")) throw bad("MEMBER_ADDED <topic> <clientId> <seq>");
      return { type: "member-added", topic: a[0], clientId: a[1], seq: Number(a[2]) };
    case Cmd.RELAY:
      return parseRelay(a);
    default:
      return null;
  }
}

function numericOnly(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (typeof v !== "object" || v === null) return out;
  for (const [k, x] of Object.entries(v)) if (typeof x === "number" && Number.isFinite(x)) out[k] = x;
  return out;
}

/** The message a routed p2p envelope carries, as the msg_server delivers it. */
export function routedMessage(e: RouteP2P): MessageView & { kind: "p2p"; to: string } {
  return { uuid: e.uuid, kind: "p2p", conv: p2pConversation(e.to, e.from), seq: e.seq, from: e.from, to: e.to, body: e.body, ts: e.ts };
}

/** The message a routed topic envelope carries. */
export function routedTopicMessage(e: RouteTopic): MessageView & { kind: "topic"; to: string } {
  return { uuid: e.uuid, kind: "topic", conv: e.topic, seq: e.seq, from: e.from, to: e.topic, body: e.body, ts: e.ts };
}
