/**
 * v1 packet codec (FishChatServer libnet `PacketN(4, BigEndian)` + `json.Encoder`): a 4-byte
 * unsigned big-endian body length N, then N bytes of JSON. Go's encoder ends the body with "\n"
 * and N counts it. docs/PROTOCOL.md ("Packet codec", "Accepted deviations from v1 and Go") says what we
 * accept and how we differ from Go.
 */
import { isUtf8 } from "node:buffer";
import { ErrorCode, ProtocolError } from "../errors.js";
import { Cmd, type Command } from "./commands.js";

const HEADER_BYTES = 4;

function badFrame(reason: string): ProtocolError {
  return new ProtocolError(ErrorCode.IM_ERR_BAD_FRAME, reason);
}

/** Splits a byte stream into frame bodies; resumes at any byte position across chunks. */
export class PacketFramer {
  private readonly maxFrameBytes: number;
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerFill = 0;
  /** Body being filled across chunks (allocated once its length is known), or null. */
  private body: Buffer | null = null;
  private bodyFill = 0;
  /** Set by the first error: the stream position is lost, so every later push rethrows it. */
  private failure: unknown = null;

  constructor(maxFrameBytes: number) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1) {
      throw new RangeError(`maxFrameBytes must be a positive integer, got ${maxFrameBytes}`);
    }
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received of the frame not complete yet, its header included. */
  get bufferedBytes(): number {
    return this.body === null ? this.headerFill : HEADER_BYTES + this.bodyFill;
  }

  /**
   * Feed bytes; get back every body they complete. A body complete inside one chunk is a view of
   * that chunk (no copy), so use it before reusing the chunk's memory. Throws ProtocolError
   * IM_ERR_FRAME_TOO_LARGE or IM_ERR_BAD_FRAME; after that every call throws the same error.
   */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    this.pushEach(chunk, (body) => out.push(body));
    return out;
  }

  /**
   * Like push, but hands each body to `onBody` as soon as it is complete, so an error thrown by
   * `onBody` (a body that does not decode) comes before any error in a later frame of the chunk:
   * errors surface in stream order whatever the chunking. Any error thrown by `onBody` also
   * kills the framer, since the rest of the chunk was not consumed.
   */
  pushEach(chunk: Buffer, onBody: (body: Buffer) => void): void {
    if (this.failure !== null) throw this.failure;
    try {
      this.split(chunk, onBody);
    } catch (err) {
      this.failure = err;
      this.body = null;
      this.headerFill = this.bodyFill = 0;
      throw err;
    }
  }

  private split(chunk: Buffer, onBody: (body: Buffer) => void): void {
    let off = 0;
    const len = chunk.length;
    while (off < len) {
      if (this.body === null) {
        let n: number;
        if (this.headerFill === 0 && len - off >= HEADER_BYTES) {
          n = chunk.readUInt32BE(off);
          off += HEADER_BYTES;
        } else {
          const take = Math.min(HEADER_BYTES - this.headerFill, len - off);
          chunk.copy(this.header, this.headerFill, off, off + take);
          this.headerFill += take;
          off += take;
          if (this.headerFill < HEADER_BYTES) break;
          n = this.header.readUInt32BE(0);
          this.headerFill = 0;
        }
        this.checkLength(n);
        if (this.headerFill === 0 && len - off >= n) {
          const body = chunk.subarray(off, off + n); // whole body here: no copy
          off += n;
          onBody(body);
          continue;
        }
        this.body = Buffer.allocUnsafe(n);
        this.bodyFill = 0;
      }
      const body: Buffer = this.body;
      const take = Math.min(body.length - this.bodyFill, len - off);
      chunk.copy(body, this.bodyFill, off, off + take);
      this.bodyFill += take;
      off += take;
      if (this.bodyFill === body.length) {
        this.body = null;
        this.bodyFill = 0;
        onBody(body);
      }
    }
  }

  // Checked from the header alone, so an oversized frame is refused before any of it is stored.
  private checkLength(n: number): void {
    if (n === 0) throw badFrame("zero-length frame");
    if (n > this.maxFrameBytes) {
      throw new ProtocolError(
        ErrorCode.IM_ERR_FRAME_TOO_LARGE,
        `frame of ${n} bytes exceeds the limit of ${this.maxFrameBytes}`,
      );
    }
  }
}

/**
 * Go's encoding/json matches a key to a field exactly, else by Unicode simple case folding.
 * Our field names are ASCII; the only non-ASCII characters that fold onto ASCII letters are
 * U+017F (long s, folds with "s") and U+212A (Kelvin sign, folds with "k").
 */
function foldKey(key: string): string {
  return key.toLowerCase().replace(/\u017f/g, "s"); // toLowerCase already maps U+212A to "k"
}

const FIELDS = ["CmdName", "Args", "AnyData", "SessionNum"] as const;
type Field = (typeof FIELDS)[number];
const FOLDED_FIELDS = new Map<string, Field>(FIELDS.map((f) => [f.toLowerCase(), f]));

/** Key of `obj` holding each field: the exact name if present, else the last folded match. */
function fieldKeys(obj: Record<string, unknown>): Partial<Record<Field, string>> {
  const found: Partial<Record<Field, string>> = {};
  let missing = 0;
  for (const f of FIELDS) {
    if (Object.hasOwn(obj, f)) found[f] = f;
    else missing++;
  }
  if (missing === 0) return found;
  // Among other spellings the last wins, as in Go (which assigns keys in order). Go would also
  // let a later folded key override the exact one; we let the exact spelling win instead.
  for (const key of Object.keys(obj)) {
    const f = FOLDED_FIELDS.get(foldKey(key));
    if (f !== undefined && !Object.hasOwn(obj, f)) found[f] = key;
  }
  return found;
}

/** Decode one frame body. Throws ProtocolError(IM_ERR_BAD_FRAME, reason). */
export function decodePacket(body: Buffer): Command {
  if (!isUtf8(body)) throw badFrame("invalid UTF-8");
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8")); // JSON whitespace around the value is allowed
  } catch {
    throw badFrame("invalid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badFrame("body is not a JSON object");
  }
  const obj = value as Record<string, unknown>;
  const keys = fieldKeys(obj);

  if (keys.CmdName === undefined) {
    // v1's monitor beat is a bare `{"SessionNum":N}` with no CmdName.
    if (keys.SessionNum !== undefined && typeof obj[keys.SessionNum] === "number") {
      return { name: Cmd.MONITOR_BEAT, args: [], anyData: obj };
    }
    throw badFrame("missing CmdName");
  }
  const name = obj[keys.CmdName];
  if (typeof name !== "string") throw badFrame("CmdName is not a string");

  const rawArgs = keys.Args === undefined ? null : obj[keys.Args];
  let args: string[];
  if (rawArgs === null || rawArgs === undefined) {
    args = []; // Go encodes a nil slice as null
  } else if (!Array.isArray(rawArgs)) {
    throw badFrame("Args is not an array");
  } else {
    for (const a of rawArgs) if (typeof a !== "string") throw badFrame("Args holds a non-string");
    args = rawArgs as string[];
  }

  const cmd: Command = { name: name.toUpperCase(), args };
  if (keys.AnyData !== undefined) cmd.anyData = obj[keys.AnyData];
  return cmd;
}

// Go's json.Encoder escapes these for HTML safety; outside strings JSON.stringify emits none.
const GO_ESCAPABLE_RE = /[<>&\u2028\u2029]/; // not global: test() must not keep lastIndex
const GO_ESCAPES_RE = /[<>&\u2028\u2029]/g;
const GO_ESCAPES: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

function goEscape(json: string): string {
  return GO_ESCAPABLE_RE.test(json) ? json.replace(GO_ESCAPES_RE, (c) => GO_ESCAPES[c] ?? c) : json;
}

function stringifyAny(v: unknown): string {
  return JSON.stringify(v) ?? "null"; // undefined, functions, symbols: Go would have a nil interface
}

/** Header + body exactly as v1's Go json.Encoder would write the command. */
export function encodePacket(cmd: Command): Buffer {
  let json: string;
  const data = cmd.anyData;
  if (cmd.name === Cmd.MONITOR_BEAT && typeof data === "object" && data !== null && !Array.isArray(data)) {
    json = stringifyAny(data); // v1's CmdMonitor is the bare object
  } else {
    json = `{"CmdName":${JSON.stringify(cmd.name)},"Args":${JSON.stringify(cmd.args)}`;
    if (data !== undefined) json += `,"AnyData":${stringifyAny(data)}`;
    json += "}";
  }
  const body = goEscape(json) + "\n";
  const n = Buffer.byteLength(body, "utf8");
  const frame = Buffer.allocUnsafe(HEADER_BYTES + n);
  frame.writeUInt32BE(n, 0);
  frame.write(body, HEADER_BYTES, "utf8");
  return frame;
}
