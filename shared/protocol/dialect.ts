/**
 * A dialect is everything that differs between the protocols a client connection can speak:
 * how bytes become commands, how a command is written, whether replies exist, and the exact
 * shape of each push. The connection and the handlers ask their connection's dialect instead of
 * branching on a codec name, so adding a protocol (WebSocket JSON) is one more object here.
 *
 * Pure: no I/O, no sockets. The connection chooses a dialect (detected from the first byte on
 * TCP, fixed for links and WebSocket) and keeps it for its lifetime.
 */
import { ErrorCode, ImError, ProtocolError, RateLimitedError } from "../errors.js";
import { Cmd, type Command } from "./commands.js";

/** What a push needs to know about a stored message (structurally a StoredMessage). */
export interface MessageView {
  conv: string;
  seq: number;
  uuid: string;
  from: string;
  body: string;
  ts: number;
}

/** A decoded command, or the error of one bad line (the connection survives it). */
export type Decoded = Command | ImError;

/**
 * The error of one bad request that still says which request it was (a JSON request whose id
 * could be read): the connection answers it as a reply to `request`, so the id is echoed.
 */
export class RejectedRequest extends ProtocolError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly request: Command,
  ) {
    super(code, message);
  }
}

/** Bytes (or whole messages) in, commands out, for one connection. Framing errors are thrown. */
export interface FrameDecoder {
  push(chunk: Buffer | string): Decoded[];
  /** Bytes held for an incomplete line or frame. */
  readonly bufferedBytes: number;
}

export interface Limits {
  /** Longest line accepted, in bytes, terminator excluded. */
  maxLineBytes: number;
  /** Largest frame body accepted, in bytes, header excluded. */
  maxFrameBytes: number;
}

export type DialectName = "line" | "packet" | "json";

export interface Dialect {
  readonly name: DialectName;
  /** Whether OK/ERR replies exist. v1 packet clients treat every frame as a message, so they get none. */
  readonly replies: boolean;
  /** v1 packet clients cannot acknowledge topic messages: a message written to them counts as acknowledged. */
  readonly autoAckTopics: boolean;
  decoder(limits: Limits): FrameDecoder;
  encode(cmd: Command): string | Buffer;
  /**
   * The bytes answering `request` with `reply` (OK, ERR, or a v1 reply such as
   * LOCATE_TOPIC_MSG_ADDR); null when this dialect does not carry that reply. `request` is null
   * for an error that answers no particular command (a framing error before closing).
   */
  encodeReply(reply: Command, request: Command | null): string | Buffer | null;
  /** `RESP_MESSAGE_P2P`: v1's [msg, from, uuid], plus seq and ts where the client can take them. */
  p2pPush(m: MessageView): Command;
  /** `RESP_MESSAGE_TOPIC`: v1's [name, msg, from], plus uuid, seq and ts where the client can take them. */
  topicPush(m: MessageView): Command;
  /** Offline topic backlog cut short by its bound: the notice saying how many messages were dropped. */
  topicGap(topic: string, dropped: number, systemSender: string): Command;
  /** The notice before a session is closed because it logged in elsewhere; null where the client has none. */
  kicked(why: string): Command | null;
  /** "You were removed from this topic"; null where the client has none. */
  topicRemoved(topic: string): Command | null;
  /** "Reconnect through the gateway in delayMs" (graceful drain); null where the client has none. */
  goaway(delayMs: number): Command | null;
  /** "Your token expires in `seconds`; send REFRESH_TOKEN"; null where the client cannot refresh. */
  tokenExpiring(seconds: number): Command | null;
  /** `READ_RECEIPT p2p <reader> <seq>`: the peer read the conversation up to seq; null where the client has none. */
  readReceipt(reader: string, seq: number): Command | null;
  /** `PRESENCE <id> online|offline`; null where the client has none. */
  presence(clientId: string, online: boolean): Command | null;
  /** `TYPING p2p <from>` (topic null) or `TYPING topic <name> <from>`; null where the client has none. */
  typing(from: string, topic: string | null): Command | null;
  /** `TOPIC_MEMBER <name> <id> join|leave`; null where the client has none. */
  topicMember(topic: string, clientId: string, joined: boolean): Command | null;
}

/** The line-mode reply for an error: `ERR <code> <message>`. Non-ImErrors are bugs and say nothing more. */
export function errorReply(err: unknown): Command {
  if (err instanceof RateLimitedError) return { name: Cmd.ERR, args: [err.code, err.message, String(err.retryAfterMs)] };
  if (err instanceof ImError) return { name: Cmd.ERR, args: [err.code, err.message] };
  return { name: Cmd.ERR, args: [ErrorCode.IM_ERR_INTERNAL, "internal error"] };
}

export function okReply(command: string, ...results: string[]): Command {
  return { name: Cmd.OK, args: [command, ...results] };
}

