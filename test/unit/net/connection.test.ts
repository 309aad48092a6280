import assert from "node:assert/strict";
import test from "node:test";
import { setImmediate as tick } from "node:timers/promises";
import { Connection } from "../../../shared/net/connection.js";
import { memoryPair, type MemoryTransport } from "../../../shared/net/memory-transport.js";
import type { Command } from "../../../shared/protocol/commands.js";
import { LINE, PACKET } from "../../../shared/protocol/codec.js";
import { encodePacket } from "../../../shared/protocol/packet-codec.js";
import { okReply } from "../../../shared/protocol/dialect.js";
import { ErrorCode, ImError } from "../../../shared/errors.js";
import { captureLogger } from "../../support/log-sink.js";

interface Harness {
  conn: Connection<null>;
  peer: MemoryTransport;
  received: () => string;
  closed: Promise<ImError | null>;
}

/** A Connection on one end of a memory pair; the test plays the peer on the other end. */
function harness(o: { maxInflight?: number; maxOutboundBytes?: number; onCommand?: (c: Connection<null>, cmd: Command) => void } = {}): Harness {
  const [ours, peer] = memoryPair();
  let closedWith: (r: ImError | null) => void = () => undefined;
  const closed = new Promise<ImError | null>((r) => (closedWith = r));
  const conn = new Connection<null>(ours, {
    limits: { maxLineBytes: 1024, maxFrameBytes: 1024 },
    log: captureLogger().log,
    maxOutboundBytes: o.maxOutboundBytes ?? 1024 * 1024,
    maxInflight: o.maxInflight ?? 16,
    state: null,
    onCommand: o.onCommand ?? ((c, cmd) => c.reply(cmd, okReply(cmd.name))),
    onClose: (_c, reason) => closedWith(reason),
  });
  const chunks: Buffer[] = [];
  peer.attach({ data: (d) => chunks.push(Buffer.from(d)), drain: () => undefined, error: () => undefined, close: () => undefined });
  return { conn, peer, received: () => Buffer.concat(chunks).toString(), closed };
}

async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await tick();
}

test("replies leave in the order commands arrived, even when later handlers finish first", async () => {
  const resolvers: ((c: Command) => void)[] = [];
  const h = harness({
    onCommand: (c, cmd) => c.reply(cmd, new Promise<Command>((r) => resolvers.push(() => r(okReply(cmd.name, cmd.args[0]!))))),
  });
  h.peer.write("A 1\nA 2\nA 3\n");
  await turns();
  assert.equal(resolvers.length, 3);
  resolvers[2]!(okReply("x"));
  resolvers[1]!(okReply("x"));
  await turns();
  assert.equal(h.received(), "", "nothing may overtake the first, unfinished reply");
  resolvers[0]!(okReply("x"));
  await turns();
  assert.equal(h.received(), "OK A 1\nOK A 2\nOK A 3\n");
});

test("a synchronous reply queues behind an unfinished one", async () => {
  let finish: () => void = () => undefined;
  const h = harness({
    onCommand: (c, cmd) => {
      if (cmd.name === "SLOW") c.reply(cmd, new Promise<Command>((r) => (finish = () => r(okReply("SLOW")))));
      else c.reply(cmd, okReply("FAST"));
    },
  });
  h.peer.write("SLOW\nFAST\n");
  await turns();
  assert.equal(h.received(), "");
  finish();
  await turns();
  assert.equal(h.received(), "OK SLOW\nOK FAST\n");
});

test("at maxInflight unanswered commands the connection stops reading, and resumes below half", async () => {
  const pending: (() => void)[] = [];
  let seen = 0;
  const h = harness({
    maxInflight: 4,
    onCommand: (c, cmd) => {
      seen++;
      c.reply(cmd, new Promise<Command>((r) => pending.push(() => r(okReply(cmd.name)))));
    },
  });
  h.peer.write("A\nA\nA\nA\n");
  await turns();
  h.peer.write("B\n");
  await turns();
  assert.equal(seen, 4, "the fifth command waits unread while four are in flight");
  assert.equal(h.conn.inflight, 4);
  pending.shift()!();
  pending.shift()!();
  await turns();
  assert.equal(seen, 4, "at half the bound (2 of 4) reading has not resumed yet");
  pending.shift()!();
  await turns();
  assert.equal(seen, 5, "below half the bound reading resumes");
});

test("output beyond maxOutboundBytes closes the connection as a slow consumer, with the reason", async () => {
  const h = harness({ maxOutboundBytes: 4096 });
  h.peer.pause(); // the peer stops reading: our bytes pile up in its inbox
  const line = { name: "PUSH", args: ["x".repeat(1000)] };
  let sent = 0;
  while (h.conn.send(line)) {
    sent++;
    h.conn.flush();
    assert.ok(sent < 10, "the bound must trip within a few pushes");
  }
  assert.ok(sent >= 3, `${sent} pushes of 1 KB fit a 4 KiB bound`);
  assert.equal(h.conn.closed, true);
  assert.equal(h.conn.closeReason?.code, ErrorCode.IM_ERR_SLOW_CONSUMER);
  assert.equal(h.conn.send(line), false, "a closed connection refuses more output");
  h.peer.resume(); // the peer reads what was queued; then the transport closes
  assert.equal((await h.closed)?.code, ErrorCode.IM_ERR_SLOW_CONSUMER);
  assert.match(h.received(), /ERR IM_ERR_SLOW_CONSUMER/);
});

test("a bad line costs only that line; a framing error closes with the code", async () => {
  const h = harness();
  h.peer.write('GOOD\n"bad\nGOOD\n');
  await turns();
  assert.match(h.received(), /^OK GOOD\nERR IM_ERR_BAD_LINE [^\n]+\nOK GOOD\n$/);
  h.peer.write(`${"y".repeat(2000)}\n`);
  const reason = await h.closed;
  assert.equal(reason?.code, ErrorCode.IM_ERR_LINE_TOO_LONG);
  await turns();
  assert.match(h.received(), /ERR IM_ERR_LINE_TOO_LONG/);
});

test("the dialect is detected from the first byte; a v1 packet peer never sees OK or ERR", async () => {
  const h = harness({ onCommand: (c, cmd) => c.reply(cmd, cmd.name === "PING" ? okReply("PING") : { name: "LOCATE_TOPIC_MSG_ADDR", args: ["a:1", "t"] }) });
  assert.equal(h.conn.dialectOrNull, null);
  h.peer.write(encodePacket({ name: "PING", args: [] }));
  h.peer.write(encodePacket({ name: "JOIN_TOPIC", args: ["t", "me"] }));
  await turns();
  assert.equal(h.conn.dialect, PACKET);
  const bytes = Buffer.from(h.received(), "latin1");
  assert.deepEqual(bytes, encodePacket({ name: "LOCATE_TOPIC_MSG_ADDR", args: ["a:1", "t"] }), "only the v1 reply, no OK frame");
  h.conn.close(new ImError(ErrorCode.IM_ERR_KICKED, "bye"));
  await turns();
  assert.deepEqual(Buffer.from(h.received(), "latin1"), bytes, "no error frame on close either");
});

test("a fixed dialect is used before the peer says anything", async () => {
  const [ours, peer] = memoryPair();
  const conn = new Connection<null>(ours, {
    limits: { maxLineBytes: 1024, maxFrameBytes: 1024 },
    log: captureLogger().log,
    maxOutboundBytes: 1 << 20,
    maxInflight: 4,
    dialect: LINE,
    state: null,
    onCommand: () => undefined,
    onClose: () => undefined,
  });
  const got: string[] = [];
  peer.attach({ data: (d) => got.push(d.toString()), drain: () => undefined, error: () => undefined, close: () => undefined });
  conn.send({ name: "AUTH", args: ["s3cret"] });
  await turns();
  assert.equal(got.join(""), "AUTH s3cret\n");
  conn.destroy();
});
