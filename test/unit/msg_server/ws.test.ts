/**
 * WebSocket clients of a real msg_server core in-process: WsTransport + Connection + the JSON
 * dialect over real loopback sockets, next to line-protocol peers on memory transports.
 */
import assert from "node:assert/strict";
import test from "node:test";
import type { P2PMessage, TopicMessage } from "../../../shared/client/client.js";
import { ImError } from "../../../shared/errors.js";
import { Cmd } from "../../../shared/protocol/commands.js";
import { sleep, waitFor } from "../../support/ports.js";
import { TEST_ORIGIN, WsChatClient } from "../../support/ws-client.js";
import { startWsCore } from "../../support/ws-core.js";

const codeOf = (e: unknown) => (e instanceof ImError ? e.code : String(e));

test("ws: a WebSocket user and a line user chat both ways; replies carry the request's id", async (t) => {
  const h = await startWsCore(t);
  const alice = await h.wsLogin("alice");
  const bob = await h.login("bob");
  const got: P2PMessage[] = [];
  alice.on("p2p", (m: P2PMessage) => got.push(m));

  const sent = await alice.sendP2P("bob", "hi bob");
  assert.match(sent.uuid, /^[0-9a-f-]{36}$/);
  assert.equal(sent.seq, 1);
  await bob.until("bob's push", () => bob.pushesNamed(Cmd.RESP_MESSAGE_P2P).length === 1);
  assert.deepEqual(bob.pushesNamed(Cmd.RESP_MESSAGE_P2P)[0]!.args.slice(0, 4), ["hi bob", "alice", sent.uuid, "1"]);

  const r = await bob.request('SEND_MESSAGE_P2P alice "hi alice"');
  await waitFor("alice's push", () => got.length === 1);
  assert.deepEqual({ ...got[0], ts: 0 }, { body: "hi alice", from: "bob", uuid: r.args[1], seq: 2, ts: 0 });
  // alice acknowledged it (autoAck): her inbox is empty.
  await waitFor("inbox acknowledged", async () => (await h.store.inboxPending("alice")) === 0);

  // The raw wire: ids are echoed, whatever their order or kind.
  const replies = alice.received.filter((m) => m.kind === "reply").length;
  alice.raw('{"id": 42, "cmd": "SEND_PING", "args": ["PING"]}');
  alice.raw('{"id": "x-1", "cmd": "MY_TOPICS"}');
  alice.raw('{"cmd": "SEND_PING"}');
  await waitFor("three replies", () => alice.received.filter((m) => m.kind === "reply").length === replies + 3);
  assert.deepEqual(alice.received.slice(-3), [
    { kind: "reply", id: 42, reply: { name: Cmd.OK, args: ["PONG"] } },
    { kind: "reply", id: "x-1", reply: { name: Cmd.OK, args: [] } },
    { kind: "reply", id: null, reply: { name: Cmd.OK, args: ["PONG"] } },
  ]);
});

test("ws: pipelined requests are answered in order, each with its id", async (t) => {
  const h = await startWsCore(t);
  const alice = await h.wsLogin("alice");
  const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => alice.sendP2P("bob", `m${i}`, `c${i}`)));
  assert.deepEqual(replies.map((r) => r.seq), Array.from({ length: 50 }, (_, i) => i + 1));
  const again = await alice.sendP2P("bob", "m7", "c7");
  assert.deepEqual(again, replies[7], "dedup by client message id over WebSocket too");
});

test("ws: topics, JOIN_TOPIC's named reply, history, catch-up at login", async (t) => {
  const h = await startWsCore(t);
  const carol = await h.wsLogin("carol");
  await carol.request(Cmd.CREATE_TOPIC, ["golang"]);
  const dave = await h.login("dave");
  const join = await dave.request("JOIN_TOPIC golang dave");
  assert.equal(join.name, Cmd.LOCATE_TOPIC_MSG_ADDR);
  // The named reply over WebSocket.
  const j = await carol.request(Cmd.JOIN_TOPIC, ["golang", "carol"]);
  assert.deepEqual(j, { name: Cmd.LOCATE_TOPIC_MSG_ADDR, args: ["127.0.0.1:19000", "golang"] });

  const seen: TopicMessage[] = [];
  carol.on("topic", (m: TopicMessage) => seen.push(m));
  await dave.request("SEND_MESSAGE_TOPIC golang one");
  await waitFor("carol gets the topic message", () => seen.length === 1);
  assert.equal(seen[0]!.seq, 1);
  assert.ok(seen[0]!.ts > 0, "ts carried like line mode");

  // carol leaves; two messages while away; back over WebSocket she gets both, in order.
  carol.close();
  await waitFor("carol's session ended", () => h.core.sessions.get("carol") === undefined);
  await h.core.flushCursors();
  await dave.request("SEND_MESSAGE_TOPIC golang two");
  await dave.request("SEND_MESSAGE_TOPIC golang three");
  const back: TopicMessage[] = [];
  const carol2 = await h.open();
  carol2.on("topic", (m: TopicMessage) => back.push(m));
  await carol2.login("carol", await h.token("carol"));
  await waitFor("catch-up", () => back.length === 2);
  assert.deepEqual(back.map((m) => [m.body, m.seq]), [["two", 2], ["three", 3]]);

  const items: string[][] = [];
  carol2.on("push", (c: { name: string; args: string[] }) => c.name === Cmd.HISTORY_ITEM && items.push(c.args));
  const hist = await carol2.request(Cmd.HISTORY, ["topic", "golang", "0", "10"]);
  assert.deepEqual(hist.args, ["3", "3"]);
  assert.deepEqual(items.map((i) => i[4]), ["one", "two", "three"]);
});

test("ws: offline p2p inbox delivered at login, in order, exactly once on the connection", async (t) => {
  const h = await startWsCore(t);
  const bob = await h.login("bob");
  for (let i = 0; i < 20; i++) await bob.request(`SEND_MESSAGE_P2P erin m${i}`);
  const got: P2PMessage[] = [];
  const erin = await h.open();
  erin.on("p2p", (m: P2PMessage) => got.push(m));
  await erin.login("erin", await h.token("erin"));
  await waitFor("inbox", () => got.length === 20);
  await sleep(200);
  assert.deepEqual(got.map((m) => m.body), Array.from({ length: 20 }, (_, i) => `m${i}`));
  assert.equal(new Set(got.map((m) => m.uuid)).size, 20);
});

test("ws: bad messages get coded errors, the connection and everyone else carry on", async (t) => {
  const h = await startWsCore(t);
  const alice = await h.wsLogin("alice");
  const bob = await h.login("bob");
  const notices = () => alice.notices.map((n) => n.args[0]);

  alice.raw("this is not json");
  alice.raw('{"id": 5, "cmd": 12}');
  await assert.rejects(alice.request("NO_SUCH_THING"), (e) => codeOf(e) === "IM_ERR_UNKNOWN_COMMAND");
  await assert.rejects(alice.request(Cmd.SEND_MESSAGE_P2P, ["bob"]), (e) => codeOf(e) === "IM_ERR_BAD_ARGS");
  assert.deepEqual(notices(), ["IM_ERR_BAD_FRAME"], "invalid JSON: an error with id null");
  assert.deepEqual(
    alice.received.find((m) => m.kind === "reply" && m.id === 5),
    { kind: "reply", id: 5, reply: { name: Cmd.ERR, args: ["IM_ERR_BAD_FRAME", '"cmd" must be a string: the command name'] } },
    "a bad shape with a readable id is answered with that id",
  );
  assert.equal((await alice.sendP2P("bob", "still here")).seq, 1);
  await bob.until("bob still gets messages", () => bob.pushesNamed(Cmd.RESP_MESSAGE_P2P).length === 1);

  // A binary message breaks the protocol: a coded notice, then close 1003.
  const binary = await h.wsLogin("mallory");
  binary.raw(Buffer.from('{"cmd":"SEND_PING"}'));
  await binary.waitClosed();
  assert.equal(binary.closeCode, 1003);
  assert.equal(binary.notices[0]?.args[0], "IM_ERR_BAD_FRAME");

  // Oversized: ws closes with 1009 before buffering it.
  const big = await h.wsLogin("trudy");
  big.raw(JSON.stringify({ id: 1, cmd: Cmd.SEND_MESSAGE_P2P, args: ["bob", "x".repeat(h.core.cfg.maxLineBytes)] }));
  await big.waitClosed();
  assert.equal(big.closeCode, 1009);
  // Invalid UTF-8 in a text message: ws closes with 1007.
  const garbled = await h.wsLogin("oscar");
  garbled.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
  await garbled.waitClosed();
  assert.equal(garbled.closeCode, 1007);
  await waitFor("their sessions ended", () => ["mallory", "trudy", "oscar"].every((id) => h.core.sessions.get(id) === undefined));
  assert.equal(h.core.stats.protocolErrors, 1, "the binary message counted as a protocol error");

  // alice never noticed.
  assert.equal((await alice.sendP2P("bob", "and still")).seq, 2);
  await bob.until("bob got both", () => bob.pushesNamed(Cmd.RESP_MESSAGE_P2P).length === 2);
});

test("ws listener: origin check, path, connection bound, login token passes through unchanged", async (t) => {
  const h = await startWsCore(t, { ws: { maxConnections: 2 } });
  const status = (e: unknown) => (e as { status?: number }).status;
  await assert.rejects(WsChatClient.open(h.url, { origin: "http://evil.example" }), (e) => status(e) === 403);
  await assert.rejects(WsChatClient.open(h.url.replace(/\/ws$/, "/other")), (e) => status(e) === 404);
  const plain = await fetch(h.url.replace(/^ws/, "http"));
  assert.equal(plain.status, 426, "a plain HTTP request is told to upgrade");
  const page = await h.open({ origin: TEST_ORIGIN });
  const app = await h.open(); // no Origin header: not a browser page
  await assert.rejects(WsChatClient.open(h.url), (e) => status(e) === 503, "the third connection is over maxConnections");
  await page.login("alice", await h.token("alice"));
  // SEND_CLIENT_ID <id> <token>: the arguments reach the login handler as given: a bad token is
  // the login handler's IM_ERR_AUTH_FAILED, not a dialect error.
  const r = await app.request(Cmd.SEND_CLIENT_ID, ["bob", "tok.en.x"]).then(
    () => "OK",
    (e: unknown) => codeOf(e),
  );
  assert.equal(r, "IM_ERR_AUTH_FAILED");
  page.close();
  // The failed login closed `app` too.
  await waitFor("slots are free again", () => h.listener.connections === 0);
  const again = await h.open();
  again.close();
});

test("ws liveness: pings answered keep an idle session past the idle timeout; a silent peer is closed", async (t) => {
  const h = await startWsCore(t, { conf: { idleTimeoutMs: 1200, loginTimeoutMs: 1200 }, start: true });
  const quiet = await h.wsLogin("quiet");
  const silent = await h.wsLogin("silent", { autoPong: false });
  await silent.waitClosed(5000);
  assert.equal(silent.notices.at(-1)?.args[0], "IM_ERR_IDLE_TIMEOUT");
  await sleep(1500);
  assert.equal(quiet.closed, false, "alive well past 1.2 s without sending a command");
  assert.ok(quiet.pings >= 2, `the server pinged (${quiet.pings})`);
  assert.equal((await quiet.request(Cmd.SEND_PING)).args[0], "PONG");
  assert.equal(h.core.stats.idleTimeouts, 1);
});

test("ws slow consumer: a reader that stops is cut off at the bound and catches up at its next login", async (t) => {
  const h = await startWsCore(t, { conf: { maxOutboundBytes: 64 * 1024 } });
  const sloth = await h.wsLogin("sloth");
  sloth.ws.pause(); // stop reading the socket
  const sender = await h.login("firehose");
  // 9 MB: beyond the 64 KiB bound plus the few MB the kernel's loopback buffers absorb first.
  const body = "x".repeat(30_000);
  const N = 300;
  for (let i = 0; i < N; i++) assert.equal((await sender.request(`SEND_MESSAGE_P2P sloth "${i} ${body}"`)).name, Cmd.OK);
  await waitFor("cut off as a slow consumer", () => h.core.stats.slowConsumers === 1, 10_000);
  assert.ok(h.core.stats.msgsOut < N, `pushing stopped at the bound (${h.core.stats.msgsOut} of ${N} pushed)`);
  sloth.close();
  const got: P2PMessage[] = [];
  const back = await h.open();
  back.on("p2p", (m: P2PMessage) => got.push(m));
  await back.login("sloth", await h.token("sloth"));
  await waitFor("everything arrives after re-login", () => got.length >= N, 30_000);
  await sleep(100);
  assert.deepEqual(got.map((m) => Number(m.body.split(" ")[0])), Array.from({ length: N }, (_, i) => i), "in order, each once");
});

test("ws: a login elsewhere kicks the WebSocket session with KICKED and a coded notice; a full server refuses in JSON", async (t) => {
  const h = await startWsCore(t, { conf: { maxConnections: 2 } });
  const alice = await h.wsLogin("alice");
  const kicked: string[] = [];
  alice.on("push", (c: { name: string }) => kicked.push(c.name));
  await h.login("alice");
  await alice.waitClosed();
  assert.deepEqual(kicked, [Cmd.KICKED]);
  assert.equal(alice.notices.at(-1)?.args[0], "IM_ERR_KICKED");
  assert.equal(alice.closeCode, 1000, "a normal close after the notice");

  await h.open(); // with the line peer: the server's two connections
  const refused = await h.open();
  await refused.waitClosed();
  assert.equal(refused.notices[0]?.args[0], "IM_ERR_UNAVAILABLE", "the refusal is JSON, not a line");
});
