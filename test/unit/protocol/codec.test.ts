import assert from "node:assert/strict";
import test from "node:test";
import { ErrorCode, ProtocolError } from "../../../shared/errors.js";
import { Decoder, DEFAULT_LIMITS, DEFAULT_MAX_LINE_BYTES, detectCodec, encode } from "../../../shared/protocol/codec.js";
import type { Decoded } from "../../../shared/protocol/dialect.js";
import type { Command } from "../../../shared/protocol/commands.js";
import { encodePacket } from "../../../shared/protocol/packet-codec.js";

function isCode(code: ErrorCode) {
  return (err: unknown) => err instanceof ProtocolError && err.code === code;
}

function commandsOnly(items: Decoded[]): Command[] {
  return items.map((d) => {
    assert.ok(!(d instanceof ProtocolError), `unexpected error item ${String(d)}`);
    return d as Command;
  });
}

test("detectCodec: control bytes mean packet, printable bytes mean line", () => {
  assert.equal(detectCodec(0x00), "packet");
  assert.equal(detectCodec(0x1f), "packet");
  assert.equal(detectCodec(0x20), "line");
  assert.equal(detectCodec(0x53), "line"); // "S"
  assert.equal(detectCodec(0x73), "line"); // "s"
  assert.equal(detectCodec(0xff), "line");
});

test("default limits are 64 KiB", () => {
  assert.equal(DEFAULT_MAX_LINE_BYTES, 65536);
  assert.deepEqual({ ...DEFAULT_LIMITS }, { maxLineBytes: 65536, maxFrameBytes: 65536 });
});

test("Decoder picks the codec on the first non-empty chunk", () => {
  const d = new Decoder(DEFAULT_LIMITS);
  assert.equal(d.kind, null);
  assert.deepEqual(d.push(Buffer.alloc(0)), []);
  assert.equal(d.kind, null);
  d.push(Buffer.from("SEND_"));
  assert.equal(d.kind, "line");
  const p = new Decoder(DEFAULT_LIMITS);
  p.push(Buffer.from([0]));
  assert.equal(p.kind, "packet");
});

test("line mode: commands across chunks, blank lines skipped", () => {
  const d = new Decoder(DEFAULT_LIMITS);
  assert.deepEqual(d.push(Buffer.from("SEND_CLIENT_ID alice\r\n\n  \t\r\nSEND_PI")), [
    { name: "SEND_CLIENT_ID", args: ["alice"] },
  ]);
  assert.equal(d.bufferedBytes, 7);
  assert.deepEqual(commandsOnly(d.push(Buffer.from('NG PING\nSEND_MESSAGE_P2P bob "hi there" alice\n'))), [
    { name: "SEND_PING", args: ["PING"] },
    { name: "SEND_MESSAGE_P2P", args: ["bob", "hi there", "alice"] },
  ]);
});

test("line mode: a bad line becomes a ProtocolError item in place, the others survive", () => {
  const d = new Decoder(DEFAULT_LIMITS);
  const items = d.push(Buffer.from('SEND_PING PING\n9BAD\nX "open\nSEND_CLIENT_ID bob\n'));
  assert.equal(items.length, 4);
  assert.deepEqual(items[0], { name: "SEND_PING", args: ["PING"] });
  assert.ok(isCode(ErrorCode.IM_ERR_BAD_LINE)(items[1]));
  assert.ok(isCode(ErrorCode.IM_ERR_BAD_LINE)(items[2]));
  assert.deepEqual(items[3], { name: "SEND_CLIENT_ID", args: ["bob"] });
  // The decoder is still usable after per-line errors.
  assert.deepEqual(d.push(Buffer.from("OK\n")), [{ name: "OK", args: [] }]);
});

test("line mode: framing errors throw and the decoder stays failed", () => {
  const d = new Decoder({ maxLineBytes: 8, maxFrameBytes: 8 });
  assert.throws(() => d.push(Buffer.from("SEND_PING PING\n")), isCode(ErrorCode.IM_ERR_LINE_TOO_LONG));
  assert.throws(() => d.push(Buffer.from("OK\n")), isCode(ErrorCode.IM_ERR_LINE_TOO_LONG));
  const u = new Decoder(DEFAULT_LIMITS);
  assert.throws(() => u.push(Buffer.from([0x58, 0x20, 0xfe, 0x0a])), isCode(ErrorCode.IM_ERR_BAD_LINE));
});

test("packet mode: frames across chunks", () => {
  const stream = Buffer.concat([
    encodePacket({ name: "SEND_CLIENT_ID", args: ["alice"] }),
    encodePacket({ name: "SEND_PING", args: ["PING"] }),
  ]);
  const d = new Decoder(DEFAULT_LIMITS);
  const first = d.push(stream.subarray(0, 50));
  const second = d.push(stream.subarray(50));
  assert.deepEqual(commandsOnly([...first, ...second]), [
    { name: "SEND_CLIENT_ID", args: ["alice"] },
    { name: "SEND_PING", args: ["PING"] },
  ]);
  assert.equal(d.kind, "packet");
});

test("packet mode: decode, zero-length and size errors are fatal", () => {
  const bad = Buffer.from("not json");
  const header = Buffer.alloc(4);
  header.writeUInt32BE(bad.length);
  const d = new Decoder(DEFAULT_LIMITS);
  assert.throws(() => d.push(Buffer.concat([header, bad])), isCode(ErrorCode.IM_ERR_BAD_FRAME));
  assert.throws(() => d.push(encodePacket({ name: "OK", args: [] })), isCode(ErrorCode.IM_ERR_BAD_FRAME));
  assert.throws(() => new Decoder(DEFAULT_LIMITS).push(Buffer.alloc(4)), isCode(ErrorCode.IM_ERR_BAD_FRAME));
  const small = new Decoder({ maxLineBytes: 1024, maxFrameBytes: 16 });
  assert.throws(() => small.push(encodePacket({ name: "SEND_PING", args: ["PING"] })), isCode(ErrorCode.IM_ERR_FRAME_TOO_LARGE));
});

test("packet mode: errors come in stream order within a chunk", () => {
  const bad = Buffer.from("not json");
  const header = Buffer.alloc(4);
  header.writeUInt32BE(bad.length);
  const stream = Buffer.concat([header, bad, Buffer.from([0xff, 0xff, 0xff, 0xff])]);
  assert.throws(() => new Decoder(DEFAULT_LIMITS).push(stream), isCode(ErrorCode.IM_ERR_BAD_FRAME));
});

test("a line client whose first byte is a control character is taken for a packet client", () => {
  // Documented consequence of first-byte detection: "\r\nSEND_PING" reads as a huge length.
  const d = new Decoder(DEFAULT_LIMITS);
  assert.throws(() => d.push(Buffer.from("\r\nSEND_PING PING\n")), isCode(ErrorCode.IM_ERR_FRAME_TOO_LARGE));
  assert.equal(d.kind, "packet");
});

test("encode: line gives a string, packet gives a framed Buffer", () => {
  const cmd = { name: "SEND_MESSAGE_P2P", args: ["bob", "hello world", "alice"] };
  assert.equal(encode("line", cmd), 'SEND_MESSAGE_P2P bob "hello world" alice\n');
  const frame = encode("packet", cmd);
  assert.ok(Buffer.isBuffer(frame));
  assert.equal(frame.subarray(4).toString(), '{"CmdName":"SEND_MESSAGE_P2P","Args":["bob","hello world","alice"]}\n');
  for (const kind of ["line", "packet"] as const) {
    const bytes = encode(kind, cmd);
    assert.deepEqual(new Decoder(DEFAULT_LIMITS).push(Buffer.from(bytes)), [cmd], kind);
  }
});
