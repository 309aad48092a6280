/**
 * Properties of the codecs over random input: only ProtocolError ever escapes, commands survive
 * both codecs unchanged, and how a byte stream is split into chunks does not change the result.
 */
import assert from "node:assert/strict";
import test from "node:test";
import fc from "fast-check";
import { ErrorCode, isErrorCode, ProtocolError } from "../../shared/errors.js";
import { Decoder } from "../../shared/protocol/codec.js";
import type { Decoded, Limits } from "../../shared/protocol/dialect.js";
import type { Command } from "../../shared/protocol/commands.js";
import { formatCommand, parseLine } from "../../shared/protocol/line-codec.js";
import { decodePacket, encodePacket, PacketFramer } from "../../shared/protocol/packet-codec.js";

const SMALL: Limits = { maxLineBytes: 64, maxFrameBytes: 64 };

// ---- arbitraries ----

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const trickyChar = fc.constantFrom(" ", "\t", "\r", "\n", '"', "\\", "a", "é", "😀", "\u0000", "\u007f", "\u0085", "\u2028", "\ufeff");
const arg = fc.oneof(
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ unit: "binary-ascii", maxLength: 12 }),
  fc.string({ unit: fc.oneof(trickyChar, loneSurrogate), maxLength: 12 }),
);
const name = fc.stringMatching(/^[A-Z][A-Z0-9_]{0,15}$/).filter((n) => n !== "MONITOR_BEAT");
// fc.record builds null-prototype objects; decoded commands are plain ones.
const command: fc.Arbitrary<Command> = fc
  .tuple(name, fc.array(arg, { maxLength: 6 }))
  .map(([n, args]) => ({ name: n, args }));
const packetCommand: fc.Arbitrary<Command> = fc
  .tuple(command, fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }))
  .map(([cmd, anyData]) => (anyData === undefined ? cmd : { ...cmd, anyData }));

/** Bytes that look enough like lines or frames to get past the first checks, or are noise. */
const lineish = fc
  .string({ unit: fc.constantFrom("S", "x", "_", "1", " ", "\t", '"', "\\", "u", "\r", "\n", "é", "😀"), maxLength: 80 })
  .map((s) => Buffer.from(s));
const frameish = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 80 }), fc.uint8Array({ maxLength: 80 })), { maxLength: 4 })
  .map((frames) =>
    Buffer.concat(
      frames.map(([n, body]) => {
        const header = Buffer.alloc(4);
        header.writeUInt32BE(n);
        return Buffer.concat([header, body]);
      }),
    ),
  );
const packetsOfJunkJson = fc.array(fc.oneof(fc.json(), fc.string()), { maxLength: 4 }).map((bodies) =>
  Buffer.concat(
    bodies.map((b) => {
      const body = Buffer.from(b);
      const header = Buffer.alloc(4);
      header.writeUInt32BE(body.length);
      return Buffer.concat([header, body]);
    }),
  ),
);
const noise = fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u));
const anyStream = fc
  .array(fc.oneof(lineish, frameish, packetsOfJunkJson, noise), { minLength: 1, maxLength: 4 })
  .map((parts) => Buffer.concat(parts));
const cuts = fc.array(fc.nat(), { maxLength: 8 });

// ---- helpers ----

function chunk(bytes: Buffer, positions: number[]): Buffer[] {
  const sorted = positions.map((p) => p % (bytes.length + 1)).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of sorted) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

function bytesOneByOne(bytes: Buffer): Buffer[] {
  return Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
}

interface Run {
  items: unknown[];
  error: ErrorCode | null;
}

/** Feed chunks; record items (errors as their code and message) and the thrown code, if any. */
function run(chunks: Buffer[], limits: Limits): Run {
  const decoder = new Decoder(limits);
  const items: unknown[] = [];
  for (const c of chunks) {
    let got: Decoded[];
    try {
      got = decoder.push(c);
    } catch (err) {
      assert.ok(err instanceof ProtocolError, `non-ProtocolError thrown: ${String(err)}`);
      assert.ok(isErrorCode(err.code), `unknown code ${err.code}`);
      return { items, error: err.code };
    }
    const bound = decoder.kind === "packet" ? 4 + limits.maxFrameBytes : limits.maxLineBytes + 1;
    assert.ok(decoder.bufferedBytes <= bound, `buffered ${decoder.bufferedBytes} > ${bound}`);
    for (const d of got) {
      if (d instanceof ProtocolError) {
        assert.equal(d.code, ErrorCode.IM_ERR_BAD_LINE);
        items.push({ code: d.code, message: d.message });
      } else {
        items.push(d);
      }
    }
  }
  return { items, error: null };
}

function normalizedAnyData(cmd: Command): Command {
  if (cmd.anyData === undefined) return cmd;
  return { ...cmd, anyData: JSON.parse(JSON.stringify(cmd.anyData)) as unknown };
}

// ---- properties ----

test("random bytes in random chunks only ever raise ProtocolError with a known code", () => {
  fc.assert(
    fc.property(anyStream, cuts, (bytes, positions) => {
      run(chunk(bytes, positions), SMALL);
      run(chunk(bytes, positions), { maxLineBytes: 4096, maxFrameBytes: 4096 });
    }),
    { numRuns: 1000 },
  );
});

test("chunking invariance on arbitrary bytes: same error, items a prefix of the byte-by-byte run", () => {
  fc.assert(
    fc.property(anyStream, cuts, (bytes, positions) => {
      // Byte by byte loses nothing before an error: it is the reference.
      const reference = run(bytesOneByOne(bytes), SMALL);
      const chunked = run(chunk(bytes, positions), SMALL);
      assert.equal(chunked.error, reference.error);
      if (reference.error === null) {
        assert.deepEqual(chunked.items, reference.items);
      } else {
        // The chunk that failed takes its own items down with it; earlier ones are kept.
        assert.deepEqual(chunked.items, reference.items.slice(0, chunked.items.length));
      }
    }),
    { numRuns: 500 },
  );
});

test("line: parseLine(formatCommand(cmd)) == cmd, on one line with no raw CR or LF inside", () => {
  fc.assert(
    fc.property(command, (cmd) => {
      const line = formatCommand(cmd);
      assert.equal(line.indexOf("\n"), line.length - 1);
      assert.ok(!line.includes("\r"));
      assert.deepEqual(parseLine(line.slice(0, -1)), cmd);
    }),
    { numRuns: 2000 },
  );
});

test("line: commands survive UTF-8 and the Decoder, in any chunking", () => {
  fc.assert(
    fc.property(fc.array(command, { minLength: 1, maxLength: 8 }), cuts, (cmds, positions) => {
      const bytes = Buffer.from(cmds.map(formatCommand).join(""), "utf8");
      const { items, error } = run(chunk(bytes, positions), { maxLineBytes: 64 * 1024, maxFrameBytes: 64 * 1024 });
      assert.equal(error, null);
      assert.deepEqual(items, cmds);
    }),
    { numRuns: 500 },
  );
});

test("packet: decodePacket(encodePacket(cmd)) == cmd through the framer", () => {
  fc.assert(
    fc.property(packetCommand, (cmd) => {
      const frame = encodePacket(cmd);
      assert.equal(frame.readUInt32BE(0), frame.length - 4);
      assert.equal(frame[frame.length - 1], 0x0a);
      assert.ok(!/[<>&\u2028\u2029]/.test(frame.subarray(4).toString()), "Go escaping applied");
      const bodies = new PacketFramer(1 << 20).push(frame);
      assert.equal(bodies.length, 1);
      assert.deepEqual(decodePacket(bodies[0] as Buffer), normalizedAnyData(cmd));
    }),
    { numRuns: 2000 },
  );
});

test("packet: commands survive the Decoder in any chunking", () => {
  fc.assert(
    fc.property(fc.array(packetCommand, { minLength: 1, maxLength: 8 }), cuts, (cmds, positions) => {
      const bytes = Buffer.concat(cmds.map(encodePacket));
      const { items, error } = run(chunk(bytes, positions), { maxLineBytes: 1 << 20, maxFrameBytes: 1 << 20 });
      assert.equal(error, null);
      assert.deepEqual(items, cmds.map(normalizedAnyData));
    }),
    { numRuns: 500 },
  );
});

test("chunking invariance on valid streams: two different splits give the same commands", () => {
  fc.assert(
    fc.property(fc.array(command, { minLength: 1, maxLength: 6 }), fc.boolean(), cuts, cuts, (cmds, packet, a, b) => {
      const bytes = packet ? Buffer.concat(cmds.map(encodePacket)) : Buffer.from(cmds.map(formatCommand).join(""));
      const limits = { maxLineBytes: 1 << 20, maxFrameBytes: 1 << 20 };
      assert.deepEqual(run(chunk(bytes, a), limits), run(chunk(bytes, b), limits));
    }),
    { numRuns: 300 },
  );
});
