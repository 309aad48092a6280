/**
 * Per-connection codec selection. A connection speaks one codec, chosen by the first byte it
 * receives: v1 clients start with a 4-byte length whose first byte is 0x00 for any frame under
 * 16 MiB, while a text line starts with a letter (or whitespace). Bytes below 0x20 select packets.
 */
import { ErrorCode, ProtocolError } from "../errors.js";
import type { Command } from "./commands.js";
import { formatCommand, parseLine } from "./line-codec.js";
import { LineFramer } from "./line-framer.js";
import { decodePacket, encodePacket, PacketFramer } from "./packet-codec.js";

export type CodecKind = "line" | "packet";

export function detectCodec(firstByte: number): CodecKind {
  return firstByte < 0x20 ? "packet" : "line";
}

export interface Limits {
  /** Longest line accepted, in bytes, terminator excluded. */
  maxLineBytes: number;
  /** Largest frame body accepted, in bytes, header excluded. */
  maxFrameBytes: number;
}

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024; // 64 KiB
export const DEFAULT_MAX_FRAME_BYTES = DEFAULT_MAX_LINE_BYTES;
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxLineBytes: DEFAULT_MAX_LINE_BYTES,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
});

/** A decoded command, or the error of one bad line (the connection survives it). */
export type Decoded = Command | ProtocolError;

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09) return false;
  }
  return true;
}

/**
 * Bytes in, commands out, for one connection. Framing errors (line too long, invalid UTF-8, bad
 * or oversized frame) and undecodable packets are thrown: the caller must close the connection,
 * and the decoder keeps throwing. A line that is framed fine but does not parse is returned as a
 * ProtocolError item in place, so the other lines of the chunk still count.
 */
export class Decoder {
  private readonly limits: Limits;
  private lineFramer: LineFramer | null = null;
  private packetFramer: PacketFramer | null = null;
  private failure: unknown = null;

  constructor(limits: Limits = DEFAULT_LIMITS) {
    this.limits = limits;
  }

  /** null until the first byte has arrived. */
  get kind(): CodecKind | null {
    if (this.lineFramer) return "line";
    if (this.packetFramer) return "packet";
    return null;
  }

  /** Bytes held for an incomplete line or frame. */
  get bufferedBytes(): number {
    return this.lineFramer?.bufferedBytes ?? this.packetFramer?.bufferedBytes ?? 0;
  }

  push(chunk: Buffer): Decoded[] {
    if (this.failure !== null) throw this.failure;
    if (chunk.length === 0) return [];
    try {
      if (this.lineFramer === null && this.packetFramer === null) {
        if (detectCodec(chunk[0] as number) === "line") this.lineFramer = new LineFramer(this.limits.maxLineBytes);
        else this.packetFramer = new PacketFramer(this.limits.maxFrameBytes);
      }
      return this.lineFramer ? this.pushLines(this.lineFramer, chunk) : this.pushPackets(chunk);
    } catch (err) {
      this.failure = err;
      throw err;
    }
  }

  private pushLines(framer: LineFramer, chunk: Buffer): Decoded[] {
    const out: Decoded[] = [];
    for (const line of framer.push(chunk)) {
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

  private pushPackets(chunk: Buffer): Decoded[] {
    const out: Decoded[] = [];
    // Decoding each body as it completes keeps errors in stream order. v1 logs and skips a
    // malformed frame; we close instead (docs/PROTOCOL-wire.md).
    (this.packetFramer as PacketFramer).pushEach(chunk, (body) => out.push(decodePacket(body)));
    return out;
  }
}

/** One command in a connection's codec: a line (string) or a frame (Buffer). */
export function encode(kind: CodecKind, cmd: Command): Buffer | string {
  return kind === "line" ? formatCommand(cmd) : encodePacket(cmd);
}
