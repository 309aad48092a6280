/**
 * Codec micro-benchmark: `node dist/scripts/bench/codec.bench.js [ms-per-case]`.
 * Hand-rolled (no harness dependency): each case warms up, then runs in batches until the time
 * budget is spent, and reports operations per second. Figures are for comparing revisions on
 * one machine, not absolute truth.
 */
import { Decoder, DEFAULT_LIMITS } from "../../shared/protocol/codec.js";
import type { Command } from "../../shared/protocol/commands.js";
import { formatCommand, parseLine } from "../../shared/protocol/line-codec.js";
import { LineFramer } from "../../shared/protocol/line-framer.js";
import { decodePacket, encodePacket, PacketFramer } from "../../shared/protocol/packet-codec.js";

const budgetMs = Number(process.argv[2] ?? 500);
const BATCH = 1000;

let sink = 0; // consumed results, so the JIT cannot drop the work

/** Runs `op` (which handles `unitsPerOp` units) and prints units per second. */
function bench(name: string, unit: string, unitsPerOp: number, op: () => void): void {
  const warmupEnd = process.hrtime.bigint() + BigInt(Math.round(budgetMs * 0.2 * 1e6));
  while (process.hrtime.bigint() < warmupEnd) for (let i = 0; i < BATCH; i++) op();
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(budgetMs * 1e6));
  let ops = 0;
  let now = start;
  while (now < end) {
    for (let i = 0; i < BATCH; i++) op();
    ops += BATCH;
    now = process.hrtime.bigint();
  }
  const seconds = Number(now - start) / 1e9;
  const rate = (ops * unitsPerOp) / seconds;
  console.log(`${name.padEnd(44)} ${Math.round(rate).toLocaleString("en-US").padStart(14)} ${unit}/s`);
}

const QUOTED_LINE = 'SEND_MESSAGE_P2P bob "hello world 123" alice';
const BARE_LINE = "SEND_MESSAGE_P2P bob hello_world_123 alice";
const cmd: Command = { name: "SEND_MESSAGE_P2P", args: ["bob", "hello world 123", "alice"] };

// A 64 KiB chunk of whole lines, the size a busy socket read delivers.
const lineBytes = Buffer.byteLength(QUOTED_LINE + "\n");
const linesPerChunk = Math.floor((64 * 1024) / lineBytes);
const lineChunk = Buffer.from((QUOTED_LINE + "\n").repeat(linesPerChunk));

const frame = encodePacket(cmd);
const body = frame.subarray(4);
const framesPerChunk = Math.floor((64 * 1024) / frame.length);
const frameChunk = Buffer.concat(Array.from({ length: framesPerChunk }, () => frame));

console.log(`codec benchmark, ${budgetMs} ms per case, node ${process.version}`);
bench("parseLine (quoted arg)", "lines", 1, () => {
  sink += parseLine(QUOTED_LINE).args.length;
});
bench("parseLine (bare args)", "lines", 1, () => {
  sink += parseLine(BARE_LINE).args.length;
});
bench("formatCommand", "lines", 1, () => {
  sink += formatCommand(cmd).length;
});
const lineFramer = new LineFramer(DEFAULT_LIMITS.maxLineBytes);
bench(`LineFramer, 64 KiB chunks (${linesPerChunk} lines)`, "lines", linesPerChunk, () => {
  sink += lineFramer.push(lineChunk).length;
});
const lineDecoder = new Decoder(DEFAULT_LIMITS);
bench("Decoder line mode (frame + parse), 64 KiB", "lines", linesPerChunk, () => {
  sink += lineDecoder.push(lineChunk).length;
});
bench("encodePacket", "frames", 1, () => {
  sink += encodePacket(cmd).length;
});
bench("decodePacket", "frames", 1, () => {
  sink += decodePacket(body).args.length;
});
const packetFramer = new PacketFramer(DEFAULT_LIMITS.maxFrameBytes);
bench(`PacketFramer, 64 KiB chunks (${framesPerChunk} frames)`, "frames", framesPerChunk, () => {
  sink += packetFramer.push(frameChunk).length;
});
const packetDecoder = new Decoder(DEFAULT_LIMITS);
bench("Decoder packet mode (frame + decode), 64 KiB", "frames", framesPerChunk, () => {
  sink += packetDecoder.push(frameChunk).length;
});
if (sink === -1) console.log("unreachable"); // keeps `sink` observable
