/**
 * The WebSocket dialect: one JSON object per text message, the line protocol's command model
 * (same names, arguments, replies, pushes and error codes) with a client-chosen request id echoed
 * in each reply so a browser can match replies to requests. docs/PROTOCOL.md ("WebSocket") is the
 * reference.
 *
 *   request  {"id": 7, "cmd": "SEND_MESSAGE_P2P", "args": ["bob", "hi"]}
 *   reply    {"id": 7, "ok": true, "result": ["<uuid>", "<seq>"]}
 *            {"id": 7, "ok": false, "error": {"code": "IM_ERR_...", "message": "..."}}
 *            {"id": 3, "ok": true, "reply": "LOCATE_TOPIC_MSG_ADDR", "result": ["<addr>", "<name>"]}
 *   push     {"push": "RESP_MESSAGE_P2P", "args": ["hi", "alice", "<uuid>", "<seq>", "<ts>"]}
 *
 * Messages are whole (the transport frames them), so a bad one costs only itself: it is answered
 * with a coded error, with its id when the id could be read, and the connection stays open.
 * Output messages end with "\n" (which JSON.stringify never emits inside a value): the connection
 * coalesces output into one string per turn and the framed transport sends each line as its own
 * message. Pure: no I/O.
 */
import { ErrorCode, ProtocolError } from "../errors.js";
import { Cmd, type Command } from "./commands.js";
import { LINE } from "./codec.js";
import { type Decoded, type Dialect, type FrameDecoder, type Limits, RejectedRequest } from "./dialect.js";

/** Arguments per request; the longest client command has 4, the longest internal one 7. */
export const JSON_MAX_ARGS = 32;
/** Nesting of arrays and objects; a valid request has 2 (the object and its args). */
export const JSON_MAX_DEPTH = 8;
/** A string id longer than this is refused (ids are echoed, so they must stay small). */
export const JSON_MAX_ID_CHARS = 128;

const NAME_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const KEYS = new Set(["id", "cmd", "args"]);

export type RequestId = string | number | null;

function badFrame(message: string): ProtocolError {
  return new ProtocolError(ErrorCode.IM_ERR_BAD_FRAME, message);
}

/**
 * Deepest nesting of arrays and objects in a JSON text, counted without parsing (strings are
 * skipped), so a hostile message is refused before JSON.parse builds it. Stops at limit + 1.
 */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** The request's id, or undefined when it has none (absent or null); throws for an id of the wrong kind. */
function readId(v: unknown): string | number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.length <= JSON_MAX_ID_CHARS) return v;
  throw badFrame(`"id" must be a number or a string of at most ${JSON_MAX_ID_CHARS} characters`);
}

/** One whole text message to a command, or the error answering it (the connection survives both). */
export function parseJsonRequest(text: string, limits: Limits): Decoded {
  const max = limits.maxFrameBytes;
  // A UTF-16 unit is at most 3 UTF-8 bytes, so short messages skip the byte count.
  if (text.length > max || (text.length * 3 > max && Buffer.byteLength(text) > max)) {
    return new ProtocolError(ErrorCode.IM_ERR_FRAME_TOO_LARGE, `message over ${max} bytes`);
  }
  if (jsonDepth(text, JSON_MAX_DEPTH) > JSON_MAX_DEPTH) return badFrame(`JSON nested deeper than ${JSON_MAX_DEPTH} levels`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return badFrame("not valid JSON: send one JSON object per text message");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return badFrame('not a JSON object: expected {"id": 1, "cmd": "NAME", "args": ["..."]}');
  const o = v as Record<string, unknown>;
  let id: string | number | undefined;
  try {
    id = readId(o.id);
  } catch (err) {
    return err as ProtocolError;
  }
  const reject = (message: string, code: ErrorCode = ErrorCode.IM_ERR_BAD_FRAME) =>
    id === undefined ? new ProtocolError(code, message) : new RejectedRequest(code, message, { name: "", args: [], id });
  for (const k of Object.keys(o)) if (!KEYS.has(k)) return reject(`unknown key ${JSON.stringify(k.slice(0, 40))}: a request has "id", "cmd" and "args"`);
  if (typeof o.cmd !== "string") return reject('"cmd" must be a string: the command name');
  if (!NAME_RE.test(o.cmd)) return reject(`bad command name: ${JSON.stringify(o.cmd.slice(0, 40))}`);
  const rawArgs = o.args ?? [];
  if (!Array.isArray(rawArgs)) return reject('"args" must be an array of strings');
  if (rawArgs.length > JSON_MAX_ARGS) return reject(`more than ${JSON_MAX_ARGS} arguments`, ErrorCode.IM_ERR_BAD_ARGS);
  for (const a of rawArgs) if (typeof a !== "string") return reject('"args" must be an array of strings (numbers too are sent as strings)');
  const cmd: Command = { name: o.cmd.toUpperCase(), args: rawArgs as string[] };
  if (id !== undefined) cmd.id = id;
  return cmd;
}

/** Whole messages in: text is a request, bytes (a binary WebSocket message) break the protocol. */
class JsonDecoder implements FrameDecoder {
  readonly bufferedBytes = 0;
  constructor(private readonly limits: Limits) {}
  push(chunk: Buffer | string): Decoded[] {
    if (typeof chunk !== "string") throw badFrame("binary messages are not accepted: send one JSON object per text message");
    return [parseJsonRequest(chunk, this.limits)];
  }
}

/** `{"push": NAME, "args": [...]}`; a record (v1 AnyData, internal channels only) goes in "data". */
export function encodeJsonPush(cmd: Command): string {
  const body: { push: string; args: string[]; data?: unknown } = { push: cmd.name, args: cmd.args };
  if (cmd.anyData !== undefined) body.data = cmd.anyData;
  return `${JSON.stringify(body)}\n`;
}

/** The reply to `request` (its id echoed; null for an error that answers no request, such as the notice before a close). */
export function encodeJsonReply(reply: Command, request: Command | null): string {
  const id: RequestId = request?.id ?? null;
  if (reply.name === Cmd.OK) return `${JSON.stringify({ id, ok: true, result: reply.args.slice(1) })}\n`;
  if (reply.name === Cmd.ERR) {
    const error: { code: string; message: string; retryAfterMs?: number } = { code: reply.args[0] ?? ErrorCode.IM_ERR_INTERNAL, message: reply.args[1] ?? "" };
    // A rate limit's wait, the line protocol's third argument (RateLimitedError), as a number.
    const wait = Number(reply.args[2]);
    if (error.code === ErrorCode.IM_ERR_RATE_LIMITED && Number.isFinite(wait) && wait >= 0) error.retryAfterMs = wait;
    return `${JSON.stringify({ id, ok: false, error })}\n`;
  }
  // v1's own replies (JOIN_TOPIC's LOCATE_TOPIC_MSG_ADDR): successes that name themselves.
  return `${JSON.stringify({ id, ok: true, reply: reply.name, result: reply.args })}\n`;
}

/**
 * The JSON dialect: the line protocol's replies and pushes (seq and ts included, topic messages
 * acknowledged with TOPIC_ACK), in JSON objects.
 */
export const JSON_DIALECT: Dialect = {
  name: "json",
  replies: true,
  autoAckTopics: false,
  decoder: (limits) => new JsonDecoder(limits),
  encode: encodeJsonPush,
  encodeReply: encodeJsonReply,
  p2pPush: LINE.p2pPush,
  topicPush: LINE.topicPush,
  topicGap: LINE.topicGap,
  kicked: LINE.kicked,
  goaway: LINE.goaway,
  topicRemoved: LINE.topicRemoved,
  tokenExpiring: LINE.tokenExpiring,
  readReceipt: LINE.readReceipt,
  presence: LINE.presence,
  typing: LINE.typing,
  topicMember: LINE.topicMember,
};

// The client's side of the same format (the Node WebSocket client of tests and the benchmark).

/** A request as a client writes it (no trailing newline: one text message). */
export function encodeJsonRequest(cmd: Command): string {
  return JSON.stringify(cmd.id === undefined ? { cmd: cmd.name, args: cmd.args } : { id: cmd.id, cmd: cmd.name, args: cmd.args });
}

/**
 * What a server message says, in the line protocol's terms: a reply (`OK <result...>` without the
 * command name, `ERR <code> <message>`, or a named reply such as LOCATE_TOPIC_MSG_ADDR) with the
 * id it echoes, or a push. Throws ProtocolError(IM_ERR_BAD_FRAME) for anything else.
 */
export type ServerMessage = { kind: "reply"; id: RequestId; reply: Command } | { kind: "push"; push: Command };

export function decodeJsonServerMessage(text: string): ServerMessage {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw badFrame("server message is not JSON");
  }
  if (typeof v !== "object" || v === null) throw badFrame("server message is not an object");
  const o = v as Record<string, unknown>;
  const strings = (a: unknown): a is string[] => Array.isArray(a) && a.every((x) => typeof x === "string");
  if (typeof o.push === "string" && strings(o.args)) {
    const push: Command = { name: o.push, args: o.args };
    if (o.data !== undefined) push.anyData = o.data;
    return { kind: "push", push };
  }
  const id = o.id === null || typeof o.id === "string" || typeof o.id === "number" ? o.id : undefined;
  if (id === undefined) throw badFrame("server message has neither push nor id");
  if (o.ok === true && strings(o.result)) {
    const name = typeof o.reply === "string" ? o.reply : Cmd.OK;
    return { kind: "reply", id, reply: { name, args: o.result } };
  }
  const e = o.error as Record<string, unknown> | undefined;
  if (o.ok === false && typeof e?.code === "string" && typeof e.message === "string") {
    // A rate limit's wait goes back to the third argument, where errorFromReply reads it.
    const args = typeof e.retryAfterMs === "number" ? [e.code, e.message, String(e.retryAfterMs)] : [e.code, e.message];
    return { kind: "reply", id, reply: { name: Cmd.ERR, args } };
  }
  throw badFrame("server message is not a reply or a push");
}
