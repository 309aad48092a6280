/**
 * The two dialects of a TCP port, and per-connection selection between them. A connection speaks
 * one dialect, chosen by the first byte it sends: v1 clients start with a 4-byte length whose
 * first byte is 0x00 for any frame under 16 MiB, while a text line starts with a letter (or
 * whitespace). Bytes below 0x20 select packets. docs/PROTOCOL.md ("Wire format") is the reference.
 */
import { ErrorCode, ProtocolError } from "../errors.js";
import { Cmd, type Command } from "./commands.js";
import type { Decoded, Dialect, FrameDecoder, Limits, MessageView } from "./dialect.js";
import { formatCommand, formatLine, parseLine } from "./line-codec.js";
import { LineFramer } from "./line-framer.js";
import { LINE_NOTICES } from "./notices.js";
import { decodePacket, encodePacket, PacketFramer } from "./packet-codec.js";

export type CodecKind = "line" | "packet";

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024; // 64 KiB
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxLineBytes: DEFAULT_MAX_LINE_BYTES,
  maxFrameBytes: DEFAULT_MAX_LINE_BYTES,
});

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09) return false;
  }
  return true;
}

/** Lines: a line that is framed fine but does not parse costs only that line (returned in place). */
class LineDecoder implements FrameDecoder {
  private readonly framer: LineFramer;
  constructor(limits: Limits) {
    this.framer = new LineFramer(limits.maxLineBytes);
  }
  get bufferedBytes(): number {
    return this.framer.bufferedBytes;
  }
  push(chunk: Buffer | string): Decoded[] {
    const out: Decoded[] = [];
    for (const line of this.framer.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk)) {
      if (isBlank(line)) continue;
      try {
        out.push(parseLine(line));
      } catch (err) {
        if (!(err instanceof ProtocolError && err.code === ErrorCode.IM_ERR_BAD_LINE)) throw err;
        out.push(err);
      }
    }
    return out;
  }
}

/** v1 frames: a frame that does not decode is a framing error (v1 logs and skips it; we close). */
class PacketDecoder implements FrameDecoder {
  private readonly framer: PacketFramer;
  constructor(limits: Limits) {
    this.framer = new PacketFramer(limits.maxFrameBytes);
  }
  get bufferedBytes(): number {
    return this.framer.bufferedBytes;
  }
  push(chunk: Buffer | string): Decoded[] {
    const out: Decoded[] = [];
    // Decoding each body as it completes keeps errors in stream order.
    this.framer.pushEach(typeof chunk === "string" ? Buffer.from(chunk) : chunk, (body) => out.push(decodePacket(body)));
    return out;
  }
}

/**
 * The line protocol: every command is answered OK or ERR, pushes carry seq and ts, and internal
 * channel messages carry their v1 AnyData object as one last JSON argument.
 */
export const LINE: Dialect = {
  name: "line",
  replies: true,
  autoAckTopics: false,
  decoder: (limits) => new LineDecoder(limits),
  encode: (cmd) => (cmd.anyData === undefined ? formatCommand(cmd) : formatLine(cmd.name, [...cmd.args, JSON.stringify(cmd.anyData) ?? "null"])),
  encodeReply: (reply) => formatCommand(reply),
  p2pPush: (m: MessageView) => ({ name: Cmd.RESP_MESSAGE_P2P, args: [m.body, m.from, m.uuid, String(m.seq), String(m.ts)] }),
  topicPush: (m: MessageView) => ({ name: Cmd.RESP_MESSAGE_TOPIC, args: [m.conv, m.body, m.from, m.uuid, String(m.seq), String(m.ts)] }),
  topicGap: (topic, dropped) => ({ name: Cmd.TOPIC_GAP, args: [topic, String(dropped)] }),
  kicked: (why) => ({ name: Cmd.KICKED, args: [why] }),
  goaway: (delayMs) => ({ name: Cmd.GOAWAY, args: [String(delayMs)] }),
  topicRemoved: (topic) => ({ name: Cmd.TOPIC_REMOVED, args: [topic] }),
  tokenExpiring: (seconds) => ({ name: Cmd.TOKEN_EXPIRING, args: [String(seconds)] }),
  ...LINE_NOTICES,
};

/**
 * FishChatServer v1's packet framing, byte for byte what v1 clients expect: no OK or ERR (a v1
 * client would take them for messages), v1's push arguments only, no KICKED, and a topic gap told
 * as a message from the system sender, the only form a v1 client can show.
 */
export const PACKET: Dialect = {
  name: "packet",
  replies: false,
  autoAckTopics: true,
  decoder: (limits) => new PacketDecoder(limits),
  encode: encodePacket,
  encodeReply: (reply) => (reply.name === Cmd.OK || reply.name === Cmd.ERR ? null : encodePacket(reply)),
  p2pPush: (m: MessageView) => ({ name: Cmd.RESP_MESSAGE_P2P, args: [m.body, m.from, m.uuid] }),
  topicPush: (m: MessageView) => ({ name: Cmd.RESP_MESSAGE_TOPIC, args: [m.conv, m.body, m.from] }),
  topicGap: (topic, dropped, systemSender) => ({
    name: Cmd.RESP_MESSAGE_TOPIC,
    args: [topic, `(${dropped} earlier messages exceeded the offline backlog limit and were not kept for you)`, systemSender],
  }),
  kicked: () => null,
  goaway: () => null,
  topicRemoved: () => null,
  tokenExpiring: () => null,
  // v1 has no such pushes: a packet client would show them as messages.
  readReceipt: () => null,
  presence: () => null,
  typing: () => null,
  topicMember: () => null,
};

export function dialectOf(kind: CodecKind): Dialect {
  return kind === "line" ? LINE : PACKET;
}

export function detectCodec(firstByte: number): CodecKind {
  return firstByte < 0x20 ? "packet" : "line";
}

/**
 * Bytes in, commands out, for one TCP connection whose dialect is detected from its first byte.
 * Framing errors (line too long, invalid UTF-8, bad or oversized frame) are thrown: the caller
 * must close the connection, and the decoder keeps throwing.
 */
export class Decoder implements FrameDecoder {
  private inner: FrameDecoder | null = null;
  private detected: Dialect | null = null;
  private failure: unknown = null;

  constructor(private readonly limits: Limits = DEFAULT_LIMITS) {}

  /** null until the first byte has arrived. */
  get dialect(): Dialect | null {
    return this.detected;
  }

  get kind(): CodecKind | null {
    return (this.detected?.name as CodecKind | undefined) ?? null;
  }

  get bufferedBytes(): number {
    return this.inner?.bufferedBytes ?? 0;
  }

  push(chunk: Buffer | string): Decoded[] {
    if (this.failure !== null) throw this.failure;
    if (chunk.length === 0) return [];
    try {
      if (this.inner === null) {
        const first = typeof chunk === "string" ? chunk.charCodeAt(0) : (chunk[0] as number);
        this.detected = dialectOf(detectCodec(first));
        this.inner = this.detected.decoder(this.limits);
      }
      return this.inner.push(chunk);
    } catch (err) {
      this.failure = err;
      throw err;
    }
  }
}

/** One command in a TCP dialect: a line (string) or a frame (Buffer). */
export function encode(kind: CodecKind, cmd: Command): Buffer | string {
  return dialectOf(kind).encode(cmd);
}
