import assert from "node:assert/strict";
import test from "node:test";
import { ErrorCode, ProtocolError, RateLimitedError } from "../../../shared/errors.js";
import { LINE } from "../../../shared/protocol/codec.js";
import { Cmd, type Command } from "../../../shared/protocol/commands.js";
import { RejectedRequest, errorReply, okReply, type Limits } from "../../../shared/protocol/dialect.js";
import {
  decodeJsonServerMessage,
  encodeJsonRequest,
  JSON_DIALECT,
  JSON_MAX_ARGS,
  JSON_MAX_DEPTH,
  jsonDepth,
  parseJsonRequest,
} from "../../../shared/protocol/json-dialect.js";

const LIMITS: Limits = { maxLineBytes: 1024, maxFrameBytes: 1024 };
const decode = (text: string) => {
  const items = JSON_DIALECT.decoder(LIMITS).push(text);
  assert.equal(items.length, 1, "one item per message");
  return items[0]!;
};

/** [name, message, the command it decodes to]. */
const REQUESTS: [string, string, Command][] = [
  ["numeric id", '{"id": 7, "cmd": "SEND_MESSAGE_P2P", "args": ["bob", "hi"]}', { name: "SEND_MESSAGE_P2P", args: ["bob", "hi"], id: 7 }],
  ["string id", '{"id": "r-1", "cmd": "SEND_PING", "args": ["PING"]}', { name: "SEND_PING", args: ["PING"], id: "r-1" }],
  ["no id", '{"cmd": "MY_TOPICS", "args": []}', { name: "MY_TOPICS", args: [] }],
  ["null id is no id", '{"id": null, "cmd": "MY_TOPICS"}', { name: "MY_TOPICS", args: [] }],
  ["args may be left out", '{"id": 1, "cmd": "LOGOUT"}', { name: "LOGOUT", args: [], id: 1 }],
  ["name is upper-cased", '{"id": 2, "cmd": "send_ping"}', { name: "SEND_PING", args: [], id: 2 }],
  ["any string survives", '{"id": 3, "cmd": "SEND_MESSAGE_P2P", "args": ["bob", "line1\\nline2 \\"q\\" caf\\u00e9 \\ud83d\\ude00", ""]}', { name: "SEND_MESSAGE_P2P", args: ["bob", 'line1\nline2 "q" café 😀', ""], id: 3 }],
  ["token login passes through", '{"id": 4, "cmd": "SEND_CLIENT_ID", "args": ["alice", "eyJ.x.y"]}', { name: "SEND_CLIENT_ID", args: ["alice", "eyJ.x.y"], id: 4 }],
  ["whitespace around", ' \n{"id":5,"cmd":"X"}\n ', { name: "X", args: [], id: 5 }],
  ["fractional and negative ids echo as given", '{"id": -1.5, "cmd": "X"}', { name: "X", args: [], id: -1.5 }],
  ["an unknown command still decodes (dispatch refuses it)", '{"id": 6, "cmd": "NO_SUCH_THING"}', { name: "NO_SUCH_THING", args: [], id: 6 }],
];

/** [name, message, code, the id the error answers (null: none could be read)]. */
const BAD: [string, string, ErrorCode, string | number | null][] = [
  ["not JSON", "SEND_PING PING", ErrorCode.IM_ERR_BAD_FRAME, null],
  ["truncated JSON", '{"id": 1, "cmd": "X"', ErrorCode.IM_ERR_BAD_FRAME, null],
  ["empty message", "", ErrorCode.IM_ERR_BAD_FRAME, null],
  ["an array", '["SEND_PING"]', ErrorCode.IM_ERR_BAD_FRAME, null],
  ["a string", '"SEND_PING"', ErrorCode.IM_ERR_BAD_FRAME, null],
  ["null", "null", ErrorCode.IM_ERR_BAD_FRAME, null],
  ["id of the wrong type", '{"id": true, "cmd": "X"}', ErrorCode.IM_ERR_BAD_FRAME, null],
  ["id an object", '{"id": {"a": 1}, "cmd": "X"}', ErrorCode.IM_ERR_BAD_FRAME, null],
  ["id too long", JSON.stringify({ id: "x".repeat(129), cmd: "X" }), ErrorCode.IM_ERR_BAD_FRAME, null],
  ["too deep", `{"id": 1, "cmd": "X", "args": ${"[".repeat(JSON_MAX_DEPTH)}${"]".repeat(JSON_MAX_DEPTH)}}`, ErrorCode.IM_ERR_BAD_FRAME, null],
  ["too large", JSON.stringify({ id: 1, cmd: "X", args: ["é".repeat(600)] }), ErrorCode.IM_ERR_FRAME_TOO_LARGE, null],
  ["cmd missing", '{"id": 8, "args": []}', ErrorCode.IM_ERR_BAD_FRAME, 8],
  ["cmd not a string", '{"id": 9, "cmd": 5}', ErrorCode.IM_ERR_BAD_FRAME, 9],
  ["cmd not a name", '{"id": "a", "cmd": "9LIVES"}', ErrorCode.IM_ERR_BAD_FRAME, "a"],
  ["cmd with a space", '{"id": 10, "cmd": "SEND PING"}', ErrorCode.IM_ERR_BAD_FRAME, 10],
  ["cmd too long", JSON.stringify({ id: 11, cmd: `X${"Y".repeat(64)}` }), ErrorCode.IM_ERR_BAD_FRAME, 11],
  ["args not an array", '{"id": 12, "cmd": "X", "args": "bob hi"}', ErrorCode.IM_ERR_BAD_FRAME, 12],
  ["a number in args", '{"id": 13, "cmd": "TOPIC_ACK", "args": ["t", 5]}', ErrorCode.IM_ERR_BAD_FRAME, 13],
  ["null in args", '{"id": 14, "cmd": "X", "args": [null]}', ErrorCode.IM_ERR_BAD_FRAME, 14],
  ["nested args", '{"id": 15, "cmd": "X", "args": [["a"]]}', ErrorCode.IM_ERR_BAD_FRAME, 15],
  ["too many args", JSON.stringify({ id: 16, cmd: "X", args: Array.from({ length: JSON_MAX_ARGS + 1 }, () => "a") }), ErrorCode.IM_ERR_BAD_ARGS, 16],
  ["unknown key", '{"id": 17, "cmd": "X", "argz": []}', ErrorCode.IM_ERR_BAD_FRAME, 17],
  ["unknown key without id", '{"cmd": "X", "extra": 1}', ErrorCode.IM_ERR_BAD_FRAME, null],
];

for (const [name, text, cmd] of REQUESTS) {
  test(`json request: ${name}`, () => {
    assert.deepEqual(decode(text), cmd);
  });
}

for (const [name, text, code, id] of BAD) {
  test(`json request refused: ${name} -> ${code}${id === null ? "" : ` (id ${id})`}`, () => {
    const item = decode(text);
    assert.ok(item instanceof ProtocolError, `expected an error item, got ${JSON.stringify(item)}`);
    assert.equal(item.code, code);
    if (id === null) assert.ok(!(item instanceof RejectedRequest), "no id could be read");
    else {
      assert.ok(item instanceof RejectedRequest);
      assert.equal(item.request.id, id);
    }
    // The error reply a connection sends for it echoes that id.
    const reply = JSON.parse(JSON_DIALECT.encodeReply(errorReply(item), item instanceof RejectedRequest ? item.request : null) as string);
    assert.deepEqual(reply, { id, ok: false, error: { code, message: item.message } });
  });
}

test("a rate limit's wait is a number in the JSON error, as the line protocol's third argument", () => {
  const request: Command = { name: "SEND_CLIENT_ID", args: ["alice", "t"], id: 3 };
  const reply = JSON.parse(JSON_DIALECT.encodeReply(errorReply(new RateLimitedError("too many logins waiting", 1250)), request) as string);
  assert.deepEqual(reply, { id: 3, ok: false, error: { code: ErrorCode.IM_ERR_RATE_LIMITED, message: "too many logins waiting", retryAfterMs: 1250 } });
  assert.deepEqual(LINE.encodeReply(errorReply(new RateLimitedError("too many logins waiting", 1250)), request), 'ERR IM_ERR_RATE_LIMITED "too many logins waiting" 1250\n');
  const back = decodeJsonServerMessage(JSON.stringify(reply));
  assert.deepEqual(back, { kind: "reply", id: 3, reply: { name: Cmd.ERR, args: [ErrorCode.IM_ERR_RATE_LIMITED, "too many logins waiting", "1250"] } }, "a client reads the wait back");
  // Other errors carry no wait.
  const other = JSON.parse(JSON_DIALECT.encodeReply({ name: Cmd.ERR, args: [ErrorCode.IM_ERR_BAD_ARGS, "x", "5"] }, request) as string);
  assert.deepEqual(other.error, { code: ErrorCode.IM_ERR_BAD_ARGS, message: "x" });
});

test("json request limits are exactly at the bound", () => {
  const atLimit = JSON.stringify({ id: 1, cmd: "X", args: ["a".repeat(1024 - 30)] });
  assert.equal(Buffer.byteLength(atLimit), 1024);
  assert.ok(!(decode(atLimit) instanceof Error));
  assert.equal((decode(`${atLimit} `) as ProtocolError).code, ErrorCode.IM_ERR_FRAME_TOO_LARGE);
  const args = Array.from({ length: JSON_MAX_ARGS }, () => "a");
  assert.deepEqual(parseJsonRequest(JSON.stringify({ cmd: "X", args }), LIMITS), { name: "X", args });
  const deep = `{"cmd": "X", "args": ${"[".repeat(JSON_MAX_DEPTH - 1)}${"]".repeat(JSON_MAX_DEPTH - 1)}}`;
  assert.equal((decode(deep) as ProtocolError).message, '"args" must be an array of strings (numbers too are sent as strings)', "depth 8 is parsed (then refused by shape)");
});

test("jsonDepth skips brackets inside strings, escapes included", () => {
  assert.equal(jsonDepth('{"a": "[[[[{{{{", "b": ["\\"[[["]}', 8), 2);
  assert.equal(jsonDepth("[[[]]]", 8), 3);
  assert.equal(jsonDepth("[".repeat(100), 8), 9, "stops counting past the limit");
});

test("a binary message is a framing error: thrown, so the connection closes", () => {
  const d = JSON_DIALECT.decoder(LIMITS);
  assert.throws(
    () => d.push(Buffer.from('{"cmd":"X"}')),
    (e: unknown) => e instanceof ProtocolError && e.code === ErrorCode.IM_ERR_BAD_FRAME && /binary/.test(e.message),
  );
});

/** [name, reply, request, the JSON sent]. */
const REPLIES: [string, Command, Command | null, unknown][] = [
  ["OK drops the command name", okReply(Cmd.SEND_MESSAGE_P2P, "u-1", "3"), { name: Cmd.SEND_MESSAGE_P2P, args: ["bob", "hi"], id: 7 }, { id: 7, ok: true, result: ["u-1", "3"] }],
  ["OK with no result", okReply(Cmd.P2P_ACK), { name: Cmd.P2P_ACK, args: [], id: "k" }, { id: "k", ok: true, result: [] }],
  ["request without id", okReply(Cmd.SEND_PING, "PONG"), { name: Cmd.SEND_PING, args: [] }, { id: null, ok: true, result: ["PONG"] }],
  ["ERR", { name: Cmd.ERR, args: [ErrorCode.IM_ERR_NOT_MEMBER, "join first"] }, { name: Cmd.SEND_MESSAGE_TOPIC, args: [], id: 9 }, { id: 9, ok: false, error: { code: "IM_ERR_NOT_MEMBER", message: "join first" } }],
  ["ERR answering no request (the notice before a close)", { name: Cmd.ERR, args: [ErrorCode.IM_ERR_IDLE_TIMEOUT, "nothing received"] }, null, { id: null, ok: false, error: { code: "IM_ERR_IDLE_TIMEOUT", message: "nothing received" } }],
  ["a v1 reply names itself", { name: Cmd.LOCATE_TOPIC_MSG_ADDR, args: ["127.0.0.1:19000", "golang"] }, { name: Cmd.JOIN_TOPIC, args: [], id: 3 }, { id: 3, ok: true, reply: "LOCATE_TOPIC_MSG_ADDR", result: ["127.0.0.1:19000", "golang"] }],
];

for (const [name, reply, request, json] of REPLIES) {
  test(`json reply: ${name}`, () => {
    const text = JSON_DIALECT.encodeReply(reply, request) as string;
    assert.ok(text.endsWith("\n") && text.indexOf("\n") === text.length - 1, "one line per message");
    assert.deepEqual(JSON.parse(text), json);
    // The client's decoder reads it back in line-protocol terms.
    const back = decodeJsonServerMessage(text.slice(0, -1));
    assert.equal(back.kind, "reply");
    if (back.kind !== "reply") return;
    assert.equal(back.id, request?.id ?? null);
    assert.deepEqual(back.reply, reply.name === Cmd.OK ? { name: Cmd.OK, args: reply.args.slice(1) } : reply);
  });
}

const MSG = { conv: "golang", seq: 4, uuid: "u-9", from: "alice", body: "hi\nthere", ts: 1700000000000 };

/** [name, push, the JSON sent]. */
const PUSHES: [string, Command, unknown][] = [
  ["p2p: the line protocol's arguments", JSON_DIALECT.p2pPush(MSG), { push: "RESP_MESSAGE_P2P", args: ["hi\nthere", "alice", "u-9", "4", "1700000000000"] }],
  ["topic: the line protocol's arguments", JSON_DIALECT.topicPush(MSG), { push: "RESP_MESSAGE_TOPIC", args: ["golang", "hi\nthere", "alice", "u-9", "4", "1700000000000"] }],
  ["topic gap", JSON_DIALECT.topicGap("golang", 12, "$system"), { push: "TOPIC_GAP", args: ["golang", "12"] }],
  ["kicked", JSON_DIALECT.kicked("logged in elsewhere")!, { push: "KICKED", args: ["logged in elsewhere"] }],
  ["a record goes in data", { name: Cmd.CACHE_SESSION, args: ["alice"], anyData: { Alive: true } }, { push: "CACHE_SESSION", args: ["alice"], data: { Alive: true } }],
];

for (const [name, push, json] of PUSHES) {
  test(`json push: ${name}`, () => {
    const text = JSON_DIALECT.encode(push) as string;
    assert.ok(text.endsWith("\n") && text.indexOf("\n") === text.length - 1, "a raw newline only at the end, even for a body with one");
    assert.deepEqual(JSON.parse(text), json);
    assert.deepEqual(decodeJsonServerMessage(text), { kind: "push", push });
  });
}

test("json dialect: pushes carry what line mode carries; replies exist; topics are acknowledged by the client", () => {
  assert.equal(JSON_DIALECT.name, "json");
  assert.equal(JSON_DIALECT.replies, true);
  assert.equal(JSON_DIALECT.autoAckTopics, false);
  assert.deepEqual(JSON_DIALECT.p2pPush(MSG), LINE.p2pPush(MSG));
  assert.deepEqual(JSON_DIALECT.topicPush(MSG), LINE.topicPush(MSG));
});

test("round trip: a client request decodes to the command it encodes, for any arguments", () => {
  const cmds: Command[] = [
    { name: "SEND_MESSAGE_P2P", args: ["bob", "\u2028\u0000\"\\", "alice", "cmid-1"], id: 1 },
    { name: "HISTORY", args: ["topic", "golang", "0", "50"], id: "h" },
    { name: "MY_TOPICS", args: [] },
  ];
  for (const c of cmds) assert.deepEqual(decode(encodeJsonRequest(c)), c);
});

test("the client's decoder refuses what is not a reply or a push", () => {
  for (const bad of ["nope", "[]", '{"ok": true, "result": []}', '{"id": 1, "ok": true}', '{"id": 1, "ok": false, "error": "x"}', '{"push": "X", "args": [1]}']) {
    assert.throws(() => decodeJsonServerMessage(bad), (e: unknown) => e instanceof ProtocolError && e.code === ErrorCode.IM_ERR_BAD_FRAME, bad);
  }
});
