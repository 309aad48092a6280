import assert from "node:assert/strict";
import test from "node:test";
import { ErrorCode, ProtocolError } from "../../../shared/errors.js";
import { LineFramer } from "../../../shared/protocol/line-framer.js";

const MULTI = "SEND_MESSAGE_P2P bob \"héllo wörld\" alice\r\nSEND_MESSAGE_TOPIC 日本 😀\n\nX é\r\n";
const MULTI_LINES = ['SEND_MESSAGE_P2P bob "héllo wörld" alice', "SEND_MESSAGE_TOPIC 日本 😀", "", "X é"];

function isCode(code: ErrorCode) {
  return (err: unknown) => err instanceof ProtocolError && err.code === code;
}

function feed(framer: LineFramer, chunks: Buffer[]): string[] {
  return chunks.flatMap((c) => framer.push(c));
}

test("one chunk holding several lines, CRLF and LF, and an empty line", () => {
  assert.deepEqual(new LineFramer(1024).push(Buffer.from(MULTI)), MULTI_LINES);
});

test("one byte at a time, through multi-byte UTF-8", () => {
  const bytes = Buffer.from(MULTI);
  const framer = new LineFramer(1024);
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i++) {
    out.push(...framer.push(bytes.subarray(i, i + 1)));
    // Nothing is held once a line has ended.
    if (bytes[i] === 0x0a) assert.equal(framer.bufferedBytes, 0);
  }
  assert.deepEqual(out, MULTI_LINES);
});

test("split at every position (two chunks), including inside UTF-8 sequences and CRLF", () => {
  const bytes = Buffer.from(MULTI);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const got = feed(new LineFramer(1024), [bytes.subarray(0, cut), bytes.subarray(cut)]);
    assert.deepEqual(got, MULTI_LINES, `cut at ${cut}`);
  }
});

test("split at every pair of positions (three chunks)", () => {
  const bytes = Buffer.from(MULTI);
  for (let a = 0; a <= bytes.length; a++) {
    for (let b = a; b <= bytes.length; b++) {
      const chunks = [bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)];
      assert.deepEqual(feed(new LineFramer(1024), chunks), MULTI_LINES, `cuts at ${a}, ${b}`);
    }
  }
});

test("partial line is kept between chunks and copied (caller may reuse its buffer)", () => {
  const framer = new LineFramer(1024);
  const scratch = Buffer.from("SEND_PING PI");
  assert.deepEqual(framer.push(scratch), []);
  assert.equal(framer.bufferedBytes, scratch.length);
  scratch.fill(0x7a); // overwrite the caller's memory
  assert.deepEqual(framer.push(Buffer.from("NG\n")), ["SEND_PING PING"]);
  assert.equal(framer.bufferedBytes, 0);
});

test("only one CR is stripped; a lone CR is data", () => {
  assert.deepEqual(new LineFramer(64).push(Buffer.from("a\r\r\nb\rc\n\r\n")), ["a\r", "b\rc", ""]);
});

test("no LF yet means no line", () => {
  const framer = new LineFramer(64);
  assert.deepEqual(framer.push(Buffer.from("abc")), []);
  assert.deepEqual(framer.push(Buffer.alloc(0)), []);
  assert.equal(framer.bufferedBytes, 3);
});

const LIMIT = 16;

for (const [label, terminator] of [["LF", "\n"], ["CRLF", "\r\n"]] as const) {
  test(`line of exactly maxLineBytes passes (${label}), in one chunk and byte by byte`, () => {
    const line = "x".repeat(LIMIT);
    const bytes = Buffer.from(line + terminator);
    assert.deepEqual(new LineFramer(LIMIT).push(bytes), [line]);
    const framer = new LineFramer(LIMIT);
    const out: string[] = [];
    for (let i = 0; i < bytes.length; i++) out.push(...framer.push(bytes.subarray(i, i + 1)));
    assert.deepEqual(out, [line]);
  });

  test(`line of maxLineBytes + 1 throws (${label}), in one chunk and byte by byte`, () => {
    const bytes = Buffer.from("x".repeat(LIMIT + 1) + terminator);
    assert.throws(() => new LineFramer(LIMIT).push(bytes), isCode(ErrorCode.IM_ERR_LINE_TOO_LONG));
    const framer = new LineFramer(LIMIT);
    let threwAt = -1;
    for (let i = 0; i < bytes.length && threwAt < 0; i++) {
      try {
        framer.push(bytes.subarray(i, i + 1));
      } catch (err) {
        assert.ok(isCode(ErrorCode.IM_ERR_LINE_TOO_LONG)(err));
        threwAt = i;
      }
    }
    assert.equal(threwAt, LIMIT, "throws on the first byte past the limit, before any terminator");
  });
}

test("the limit counts bytes, not characters", () => {
  const line = "é".repeat(LIMIT / 2); // 2 bytes each: exactly LIMIT bytes
  assert.deepEqual(new LineFramer(LIMIT).push(Buffer.from(line + "\n")), [line]);
  assert.throws(() => new LineFramer(LIMIT).push(Buffer.from(line + "a\n")), isCode(ErrorCode.IM_ERR_LINE_TOO_LONG));
});

test("a CR past the limit not followed by LF is too long", () => {
  const framer = new LineFramer(LIMIT);
  assert.deepEqual(framer.push(Buffer.from("x".repeat(LIMIT) + "\r")), []); // could still be CRLF
  assert.throws(() => framer.push(Buffer.from("y")), isCode(ErrorCode.IM_ERR_LINE_TOO_LONG));
});

test("a 1 MiB line throws long before 1 MiB is buffered", () => {
  const limit = 64 * 1024;
  const chunkSize = 4096;
  const framer = new LineFramer(limit);
  const chunk = Buffer.alloc(chunkSize, 0x61);
  let sent = 0;
  let error: unknown = null;
  while (sent < 1024 * 1024 && error === null) {
    try {
      framer.push(chunk);
      sent += chunkSize;
      assert.ok(framer.bufferedBytes <= limit + chunkSize);
    } catch (err) {
      error = err;
    }
  }
  assert.ok(isCode(ErrorCode.IM_ERR_LINE_TOO_LONG)(error));
  assert.ok(sent <= limit, `threw after ${sent} bytes`);
});

test("a huge complete line inside one chunk throws too", () => {
  const bytes = Buffer.from("a".repeat(1024 * 1024) + "\n");
  assert.throws(() => new LineFramer(64 * 1024).push(bytes), isCode(ErrorCode.IM_ERR_LINE_TOO_LONG));
});

test("invalid UTF-8 throws IM_ERR_BAD_LINE, whole or split", () => {
  const bad = [
    Buffer.from([0x58, 0x20, 0xff, 0x0a]), // 0xff never appears in UTF-8
    Buffer.from([0x58, 0x20, 0xc3, 0x0a]), // truncated 2-byte sequence
    Buffer.from([0x58, 0x20, 0xed, 0xa0, 0x80, 0x0a]), // encoded surrogate U+D800
    Buffer.from([0x58, 0x20, 0xc0, 0xaf, 0x0a]), // overlong "/"
  ];
  for (const bytes of bad) {
    assert.throws(() => new LineFramer(64).push(bytes), { code: ErrorCode.IM_ERR_BAD_LINE, message: /UTF-8/ });
    const framer = new LineFramer(64);
    assert.throws(() => {
      for (let i = 0; i < bytes.length; i++) framer.push(bytes.subarray(i, i + 1));
    }, isCode(ErrorCode.IM_ERR_BAD_LINE));
  }
});

test("errors come in stream order: invalid UTF-8 before a too-long line wins, and vice versa", () => {
  const badThenLong = Buffer.concat([Buffer.from("ok\nX \xff\n", "latin1"), Buffer.from("y".repeat(LIMIT + 5) + "\n")]);
  const longThenBad = Buffer.concat([Buffer.from("y".repeat(LIMIT + 5) + "\n"), Buffer.from("X \xff\n", "latin1")]);
  for (const [bytes, code] of [
    [badThenLong, ErrorCode.IM_ERR_BAD_LINE],
    [longThenBad, ErrorCode.IM_ERR_LINE_TOO_LONG],
  ] as const) {
    assert.throws(() => new LineFramer(LIMIT).push(bytes), isCode(code), "one chunk");
    const framer = new LineFramer(LIMIT);
    assert.throws(() => {
      for (let i = 0; i < bytes.length; i++) framer.push(bytes.subarray(i, i + 1));
    }, isCode(code), "byte by byte");
  }
});

test("after an error the framer keeps throwing", () => {
  const framer = new LineFramer(4);
  assert.throws(() => framer.push(Buffer.from("abcdef")), isCode(ErrorCode.IM_ERR_LINE_TOO_LONG));
  assert.throws(() => framer.push(Buffer.from("ok\n")), isCode(ErrorCode.IM_ERR_LINE_TOO_LONG));
  assert.equal(framer.bufferedBytes, 0);
});

test("rejects a nonsensical limit", () => {
  assert.throws(() => new LineFramer(0), RangeError);
  assert.throws(() => new LineFramer(1.5), RangeError);
});
