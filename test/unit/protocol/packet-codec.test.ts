import assert from "node:assert/strict";
import test from "node:test";
import { ErrorCode, ProtocolError } from "../../../shared/errors.js";
import { decodePacket, encodePacket, PacketFramer } from "../../../shared/protocol/packet-codec.js";
import { OFFLINE_MSG_REDIS_VALUE, PACKET_CASES } from "../../fixtures/protocol-lines.js";

function isCode(code: ErrorCode) {
  return (err: unknown) => err instanceof ProtocolError && err.code === code;
}

function frame(body: string | Buffer): Buffer {
  const b = typeof body === "string" ? Buffer.from(body) : body;
  const header = Buffer.alloc(4);
  header.writeUInt32BE(b.length);
  return Buffer.concat([header, b]);
}

function decodeJson(json: string) {
  return decodePacket(Buffer.from(json));
}

for (const c of PACKET_CASES) {
  test(`Appendix A decode: ${c.name}`, () => {
    assert.equal(frame(c.body).subarray(0, 4).toString("hex"), c.header);
    const bodies = new PacketFramer(1024).push(frame(c.body));
    assert.equal(bodies.length, 1);
    assert.deepEqual(decodePacket(bodies[0] as Buffer), c.command);
    // The same body without Go's trailing "\n" decodes the same.
    assert.deepEqual(decodeJson(c.body.trimEnd()), c.command);
  });

  test(`Appendix A encode byte for byte: ${c.name}`, () => {
    const expected = Buffer.concat([Buffer.from(c.goHeader ?? c.header, "hex"), Buffer.from(c.goBody ?? c.body)]);
    assert.equal(encodePacket(c.command).toString("hex"), expected.toString("hex"));
    if (c.goBody) assert.deepEqual(decodeJson(c.goBody), c.command, "Go's escaped form decodes too");
  });
}

test("all Appendix A frames in one stream, split at every byte position", () => {
  const stream = Buffer.concat(PACKET_CASES.map((c) => frame(c.body)));
  const expected = PACKET_CASES.map((c) => c.command);
  for (let cut = 0; cut <= stream.length; cut++) {
    const framer = new PacketFramer(1024);
    const bodies = [...framer.push(stream.subarray(0, cut)), ...framer.push(stream.subarray(cut))];
    assert.deepEqual(bodies.map(decodePacket), expected, `cut at ${cut}`);
    assert.equal(framer.bufferedBytes, 0);
  }
});

test("one byte at a time, with bufferedBytes tracking header and body", () => {
  const bytes = frame('{"CmdName":"SEND_PING","Args":["PING"]}\n');
  const framer = new PacketFramer(1024);
  const bodies: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) {
    bodies.push(...framer.push(bytes.subarray(i, i + 1)));
    assert.equal(framer.bufferedBytes, i + 1 === bytes.length ? 0 : i + 1);
  }
  assert.equal(bodies.length, 1);
  assert.deepEqual(decodePacket(bodies[0] as Buffer), { name: "SEND_PING", args: ["PING"] });
});

test("a body kept across chunks is a copy (caller may reuse its buffer)", () => {
  const bytes = frame('{"CmdName":"SEND_PING","Args":["PING"]}');
  const framer = new PacketFramer(1024);
  const first = Buffer.from(bytes.subarray(0, 10));
  assert.deepEqual(framer.push(first), []);
  first.fill(0);
  const [body] = framer.push(bytes.subarray(10));
  assert.deepEqual(decodePacket(body as Buffer), { name: "SEND_PING", args: ["PING"] });
});

test("frame of exactly maxFrameBytes passes; one more is refused from the header alone", () => {
  const body = '{"CmdName":"X","Args":[]}\n';
  const limit = Buffer.byteLength(body);
  assert.equal(new PacketFramer(limit).push(frame(body)).length, 1);
  const framer = new PacketFramer(limit - 1);
  // Only the 4 header bytes are sent: the error must not wait for the body.
  assert.throws(() => framer.push(frame(body).subarray(0, 4)), isCode(ErrorCode.IM_ERR_FRAME_TOO_LARGE));
  assert.throws(() => framer.push(Buffer.from("{}")), isCode(ErrorCode.IM_ERR_FRAME_TOO_LARGE), "stays failed");
});

test("a 4 GiB announcement is refused at once, header split at every byte", () => {
  const header = Buffer.from([0xff, 0xff, 0xff, 0xff]);
  for (let cut = 0; cut < 4; cut++) {
    const framer = new PacketFramer(64 * 1024);
    assert.deepEqual(framer.push(header.subarray(0, cut)), []);
    assert.throws(() => framer.push(header.subarray(cut)), isCode(ErrorCode.IM_ERR_FRAME_TOO_LARGE));
  }
});

test("pushEach hands over each body before reading the next header", () => {
  const tooLarge = Buffer.from([0xff, 0xff, 0xff, 0xff]);
  const stream = Buffer.concat([frame("not json"), tooLarge]);
  const seen: string[] = [];
  const framer = new PacketFramer(1024);
  assert.throws(
    () =>
      framer.pushEach(stream, (body) => {
        seen.push(body.toString());
        decodePacket(body);
      }),
    isCode(ErrorCode.IM_ERR_BAD_FRAME),
  );
  assert.deepEqual(seen, ["not json"]);
  // push() collects bodies, so the header error of the later frame wins there.
  assert.throws(() => new PacketFramer(1024).push(stream), isCode(ErrorCode.IM_ERR_FRAME_TOO_LARGE));
  assert.throws(() => framer.push(frame("{}")), isCode(ErrorCode.IM_ERR_BAD_FRAME), "stays failed");
});

test("zero-length frame is IM_ERR_BAD_FRAME", () => {
  assert.throws(() => new PacketFramer(1024).push(Buffer.alloc(4)), isCode(ErrorCode.IM_ERR_BAD_FRAME));
});

test("field names match case-insensitively, exact case preferred", () => {
  assert.deepEqual(decodeJson('{"cmdname":"send_ping","ARGS":["PING"]}'), { name: "SEND_PING", args: ["PING"] });
  assert.deepEqual(decodeJson('{"CMDNAME":"X","args":[],"anydata":{"a":1}}'), { name: "X", args: [], anyData: { a: 1 } });
  assert.deepEqual(decodeJson('{"cmdname":"A","CmdName":"B","Args":[]}'), { name: "B", args: [] });
  assert.deepEqual(decodeJson('{"CmdName":"B","cmdname":"A","Args":[]}'), { name: "B", args: [] });
  // Go folds U+017F (long s) with "s" and U+212A (Kelvin sign) with "k".
  assert.deepEqual(decodeJson('{"CmdName":"X","Arg\u017f":["a"]}'), { name: "X", args: ["a"] });
  assert.deepEqual(decodeJson('{"sessionnum":3}'), { name: "MONITOR_BEAT", args: [], anyData: { sessionnum: 3 } });
});

test("missing or null Args is an empty list; AnyData is kept only when present", () => {
  assert.deepEqual(decodeJson('{"CmdName":"X"}'), { name: "X", args: [] });
  assert.deepEqual(decodeJson('{"CmdName":"X","Args":null}'), { name: "X", args: [] });
  const withNull = decodeJson('{"CmdName":"X","Args":[],"AnyData":null}');
  assert.ok(Object.hasOwn(withNull, "anyData"));
  assert.equal(withNull.anyData, null);
  assert.ok(!Object.hasOwn(decodeJson('{"CmdName":"X","Args":[]}'), "anyData"));
});

test("whitespace around the JSON value is accepted", () => {
  assert.deepEqual(decodeJson(' \r\n\t{"CmdName":"X","Args":["a"]} \r\n\n'), { name: "X", args: ["a"] });
});

test("Go's HTML escapes decode to the characters", () => {
  assert.deepEqual(decodeJson('{"CmdName":"X","Args":["\\u003ca\\u0026b\\u003e"]}'), { name: "X", args: ["<a&b>"] });
});

test("encode applies Go's escaping of < > & U+2028 U+2029, in args and AnyData", () => {
  const cmd = { name: "X", args: ["<a&b>", "\u2028\u2029"], anyData: { "k<": "v&" } };
  const body = encodePacket(cmd).subarray(4).toString();
  assert.equal(
    body,
    '{"CmdName":"X","Args":["\\u003ca\\u0026b\\u003e","\\u2028\\u2029"],"AnyData":{"k\\u003c":"v\\u0026"}}\n',
  );
  assert.deepEqual(decodeJson(body), cmd);
});

test("encode: multi-byte UTF-8 is counted in bytes by the header", () => {
  const frameBytes = encodePacket({ name: "X", args: ["é😀"] });
  assert.equal(frameBytes.readUInt32BE(0), frameBytes.length - 4);
  assert.equal(frameBytes.length - 4, Buffer.byteLength('{"CmdName":"X","Args":["é😀"]}\n'));
});

test("MONITOR_BEAT without an object AnyData encodes as an ordinary envelope", () => {
  const body = encodePacket({ name: "MONITOR_BEAT", args: [] }).subarray(4).toString();
  assert.equal(body, '{"CmdName":"MONITOR_BEAT","Args":[]}\n');
});

test("malformed bodies are IM_ERR_BAD_FRAME", () => {
  const bad: [string, Buffer][] = [
    ["invalid JSON", Buffer.from('{"CmdName":"X",')],
    ["empty", Buffer.from("\n")],
    ["two values", Buffer.from('{"CmdName":"X"} {}')],
    ["array", Buffer.from('["X"]')],
    ["string", Buffer.from('"X"')],
    ["null", Buffer.from("null")],
    ["no CmdName", Buffer.from('{"Args":[]}')],
    ["number CmdName", Buffer.from('{"CmdName":1,"Args":[]}')],
    ["null CmdName", Buffer.from('{"CmdName":null,"Args":[]}')],
    ["Args not an array", Buffer.from('{"CmdName":"X","Args":"a"}')],
    ["number arg", Buffer.from('{"CmdName":"X","Args":["a",1]}')],
    ["null arg", Buffer.from('{"CmdName":"X","Args":[null]}')],
    ["object arg", Buffer.from('{"CmdName":"X","Args":[{}]}')],
    ["non-numeric SessionNum", Buffer.from('{"SessionNum":"2"}')],
    ["invalid UTF-8", Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])],
    ["BOM", Buffer.from('\ufeff{"CmdName":"X"}')],
    ["Redis value, not a frame", Buffer.from(OFFLINE_MSG_REDIS_VALUE)],
  ];
  for (const [label, body] of bad) {
    assert.throws(() => decodePacket(body), isCode(ErrorCode.IM_ERR_BAD_FRAME), label);
  }
});
