/**
 * The msg_server core in-process: dispatch and each handler over memory transports, a real LMDB
 * store in a temp dir and the in-memory Bus. What crosses processes (router links, Redis) is
 * covered by test/integration; this covers the rules of each command quickly.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "node:test";
import { memoryBus } from "../../../shared/bus/bus.js";
import { Cmd } from "../../../shared/protocol/commands.js";
import { encodePacket } from "../../../shared/protocol/packet-codec.js";
import { STATS } from "../../../shared/stats-schema.js";
import { CORE_SECRET, startCore } from "../../support/core.js";

const codeOf = (c: { name: string; args: string[] }) => (c.name === Cmd.ERR ? c.args[0] : c.name);

test("dispatch: unknown command, client command before login, internal command from a client", async (t) => {
  const h = await startCore(t);
  const p = h.connect();
  assert.equal(codeOf(await p.request("NO_SUCH_THING")), "IM_ERR_UNKNOWN_COMMAND");
  assert.equal(codeOf(await p.request("SEND_MESSAGE_P2P bob hi")), "IM_ERR_NOT_LOGGED_IN");
  assert.equal(codeOf(await p.request("ROUTE_MESSAGE_P2P bob x eve u1 1 1 1")), "IM_ERR_FORBIDDEN");
  assert.equal(codeOf(await p.request("STATS")), "IM_ERR_FORBIDDEN");
  assert.equal(codeOf(await p.request("SEND_PING PING")), Cmd.OK);
  assert.equal(h.core.stats.errors, 4);
});

test("login: bad ids are refused, a second id on one connection too; the same id again is fine", async (t) => {
  const h = await startCore(t);
  const p = h.connect();
  const tok = await h.token("alice");
  assert.equal(codeOf(await p.request('SEND_CLIENT_ID "two words" x')), "IM_ERR_BAD_CLIENT_ID");
  assert.equal(codeOf(await p.request("SEND_CLIENT_ID $system x")), "IM_ERR_BAD_CLIENT_ID");
  assert.deepEqual((await p.request(`SEND_CLIENT_ID alice ${tok}`)).args, [Cmd.SEND_CLIENT_ID, "alice"]);
  assert.equal(codeOf(await p.request(`SEND_CLIENT_ID alice ${tok}`)), Cmd.OK);
  assert.equal(codeOf(await p.request(`SEND_CLIENT_ID bob ${await h.token("bob")}`)), "IM_ERR_ALREADY_LOGGED_IN");
  const loc = await h.bus.sessions.lookup("alice");
  assert.deepEqual(loc, { serverId: "127.0.0.1:19000", connId: h.core.sessions.get("alice")!.conn.id, at: h.core.sessions.get("alice")!.loc.at });
  assert.ok(Math.abs(Date.now() - (loc?.at ?? 0)) < 60_000, "the entry carries the login time");
});

test("login elsewhere closes the older session, through the control bus", async (t) => {
  const bus = memoryBus();
  const dataDir = mkdtempSync(join(tmpdir(), "fc-core-"));
  const a = await startCore(t, { bus, dataDir, serverId: "a:1" });
  const b = await startCore(t, { bus, dataDir, serverId: "b:1" });
  const first = await a.login("alice");
  await b.login("alice");
  await first.until("kicked", () => first.closed);
  assert.equal(first.pushesNamed(Cmd.KICKED).length, 1);
  assert.equal(first.received.at(-1)?.args[0], "IM_ERR_KICKED");
  assert.equal(a.core.sessions.get("alice"), undefined);
  assert.equal((await bus.sessions.lookup("alice"))?.serverId, "b:1", "the older server's logout did not unregister the newer login");
});

test("a live login wins even when the holder's server clock runs ahead: it claims again, stamped after the holder", async (t) => {
  const bus = memoryBus();
  const dataDir = mkdtempSync(join(tmpdir(), "fc-core-"));
  const a = await startCore(t, { bus, dataDir, serverId: "a:1" });
  const b = await startCore(t, { bus, dataDir, serverId: "b:1" });
  const first = await a.login("alice");
  // a's clock is a minute ahead: its entry says the login happened in the future.
  const held = a.core.sessions.get("alice")!;
  const ahead = { ...held.loc, at: Date.now() + 60_000 };
  held.loc = ahead;
  assert.equal((await bus.sessions.claim("alice", ahead)).taken, true);
  await b.login("alice");
  await first.until("kicked", () => first.closed);
  const now = await bus.sessions.lookup("alice");
  assert.equal(now?.serverId, "b:1", "the newer login holds the entry");
  assert.equal(now?.at, ahead.at + 1, "stamped just after the holder");
  assert.equal(b.core.sessions.get("alice")!.loc.at, ahead.at + 1, "and refreshes with that stamp");
  await b.core.sessions.refresh();
  assert.ok(b.core.sessions.get("alice"), "its refresh finds the entry its own");
});

test("p2p: stored before OK, delivered at login in order, acknowledged by position", async (t) => {
  const h = await startCore(t);
  const alice = await h.login("alice");
  const sent = [];
  for (const body of ["one", "two", "three"]) sent.push(await alice.request(`SEND_MESSAGE_P2P bob ${body}`));
  assert.deepEqual(sent.map((r) => r.args[2]), ["1", "2", "3"], "seqs of the conversation");
  assert.equal((await h.store.inboxPending("bob")), 3, "committed before the OK");
  const bob = h.connect();
  await bob.request(`SEND_CLIENT_ID bob ${await h.token("bob")}`);
  await bob.until("three pushes", () => bob.pushesNamed(Cmd.RESP_MESSAGE_P2P).length === 3);
  const pushes = bob.pushesNamed(Cmd.RESP_MESSAGE_P2P);
  assert.deepEqual(pushes.map((c) => [c.args[0], c.args[1], c.args[3]]), [["one", "alice", "1"], ["two", "alice", "2"], ["three", "alice", "3"]]);
  assert.equal(codeOf(await bob.request(`P2P_ACK bob ${pushes[0]!.args[2]}`)), Cmd.OK);
  assert.equal(codeOf(await bob.request(`P2P_ACK alice ${pushes[1]!.args[2]}`)), "IM_ERR_FROM_MISMATCH");
  assert.equal(codeOf(await bob.request(`P2P_ACK bob ${pushes[0]!.args[2]}`)), "IM_ERR_UNKNOWN_MESSAGE", "an entry leaves the inbox once");
  assert.equal(await h.store.inboxPending("bob"), 2);
});

test("p2p: live delivery on one server, the sender's from is checked, bodies are bounded", async (t) => {
  const h = await startCore(t, { conf: { maxMessageBytes: 16 } });
  const alice = await h.login("alice");
  const bob = await h.login("bob");
  assert.equal(codeOf(await alice.request("SEND_MESSAGE_P2P bob hello alice")), Cmd.OK);
  await bob.until("push", () => bob.pushesNamed(Cmd.RESP_MESSAGE_P2P).length === 1);
  assert.equal(codeOf(await alice.request("SEND_MESSAGE_P2P bob hi mallory")), "IM_ERR_FROM_MISMATCH");
  assert.equal(codeOf(await alice.request(`SEND_MESSAGE_P2P bob ${"x".repeat(17)}`)), "IM_ERR_MSG_TOO_LARGE");
  assert.equal(codeOf(await alice.request("SEND_MESSAGE_P2P bob")), "IM_ERR_BAD_ARGS");
});

test("p2p: a retried client message id returns the original uuid and seq and stores nothing new", async (t) => {
  const h = await startCore(t);
  const alice = await h.login("alice");
  const first = await alice.request("SEND_MESSAGE_P2P bob hi alice m-1");
  const again = await alice.request("SEND_MESSAGE_P2P bob hi alice m-1");
  assert.deepEqual(again.args, first.args);
  assert.equal(await h.store.inboxPending("bob"), 1);
});

test("topics: members only, fan-out to every online member, quit stops delivery", async (t) => {
  const h = await startCore(t);
  const alice = await h.login("alice");
  const bob = await h.login("bob");
  const eve = await h.login("eve");
  assert.equal(codeOf(await alice.request("CREATE_TOPIC golang")), Cmd.OK);
  assert.equal(codeOf(await alice.request("CREATE_TOPIC golang")), "IM_ERR_TOPIC_EXISTS");
  const join = await bob.request("JOIN_TOPIC golang bob");
  assert.deepEqual([join.name, ...join.args], [Cmd.LOCATE_TOPIC_MSG_ADDR, "127.0.0.1:19000", "golang"]);
  assert.equal(codeOf(await eve.request("SEND_MESSAGE_TOPIC golang spam")), "IM_ERR_NOT_MEMBER");
  assert.equal(codeOf(await eve.request("HISTORY topic golang")), "IM_ERR_NOT_MEMBER");
  assert.equal(codeOf(await alice.request("SEND_MESSAGE_TOPIC golang hello")), Cmd.OK);
  for (const p of [alice, bob]) await p.until("topic push", () => p.pushesNamed(Cmd.RESP_MESSAGE_TOPIC).length === 1);
  assert.deepEqual(bob.pushesNamed(Cmd.RESP_MESSAGE_TOPIC)[0]!.args.slice(0, 3), ["golang", "hello", "alice"]);
  assert.equal(eve.pushesNamed(Cmd.RESP_MESSAGE_TOPIC).length, 0);
  assert.equal(codeOf(await bob.request("QUIT_TOPIC golang")), Cmd.OK);
  assert.equal(codeOf(await alice.request("SEND_MESSAGE_TOPIC golang again")), Cmd.OK);
  await alice.until("second push", () => alice.pushesNamed(Cmd.RESP_MESSAGE_TOPIC).length === 2);
  assert.equal(bob.pushesNamed(Cmd.RESP_MESSAGE_TOPIC).length, 1, "no delivery after quit");
  assert.equal(codeOf(await bob.request("QUIT_TOPIC golang")), "IM_ERR_NOT_MEMBER");
});

test("history: streamed items then OK with count and last seq; scoped to the caller", async (t) => {
  const h = await startCore(t);
  const alice = await h.login("alice");
  for (let i = 1; i <= 5; i++) await alice.request(`SEND_MESSAGE_P2P bob m${i}`);
  const r = await alice.request("HISTORY p2p bob 2 2");
  assert.deepEqual(r.args, [Cmd.HISTORY, "2", "4"]);
  assert.deepEqual(alice.pushesNamed(Cmd.HISTORY_ITEM).map((c) => c.args[4]), ["m3", "m4"]);
  const carol = await h.login("carol");
  const none = await carol.request("HISTORY p2p bob");
  assert.deepEqual(none.args, [Cmd.HISTORY, "0", "0"], "carol reads her own conversation with bob, which is empty");
  assert.equal(codeOf(await alice.request("HISTORY nonsense bob")), "IM_ERR_BAD_ARGS");
});

test("internal links: AUTH with the cluster secret, a wrong one closes; STATS reports exactly the schema", async (t) => {
  const h = await startCore(t);
  const bad = h.connect();
  assert.equal(codeOf(await bad.request("AUTH wrong-secret")), "IM_ERR_AUTH_FAILED");
  await bad.until("closed", () => bad.closed);
  const link = h.connect();
  assert.equal(codeOf(await link.request(`AUTH ${CORE_SECRET}`)), Cmd.OK);
  assert.equal(codeOf(await link.request("SEND_CLIENT_ID alice")), "IM_ERR_FORBIDDEN");
  const r = await link.request("STATS");
  const body = JSON.parse(r.args[1]!) as { role: string; id: string; stats: Record<string, number> };
  assert.equal(body.role, "msg_server");
  assert.equal(body.id, "127.0.0.1:19000");
  assert.deepEqual(Object.keys(body.stats).sort(), Object.keys(STATS.msg_server).sort());
});

test("a routed p2p message for a client that is not here is NACKed; a malformed one is BAD_ARGS", async (t) => {
  const h = await startCore(t);
  const link = h.connect();
  await link.request(`AUTH ${CORE_SECRET}`);
  link.write("ROUTE_MESSAGE_P2P ghost hi alice u-1 7 3 1700000000000\n");
  await link.until("nack", () => link.pushesNamed(Cmd.ROUTE_NACK).length === 1);
  assert.deepEqual(link.pushesNamed(Cmd.ROUTE_NACK)[0]!.args, ["ghost", "u-1", "7"]);
  assert.equal(codeOf(await link.request("ROUTE_MESSAGE_P2P ghost hi alice u-1 zero")), "IM_ERR_BAD_ARGS");
  assert.equal(h.core.stats.routeNacks, 1);
});

test("a v1 packet client gets v1's frames only: no OK, no KICKED, three-argument pushes", async (t) => {
  const h = await startCore(t);
  const v1 = h.connect({ packet: true });
  v1.write(encodePacket({ name: Cmd.SEND_CLIENT_ID, args: ["bob", await h.token("bob")] }));
  const alice = await h.login("alice");
  await alice.until("bob online", () => h.core.sessions.get("bob") !== undefined);
  await alice.request("SEND_MESSAGE_P2P bob hi");
  await v1.until("push", () => v1.received.length === 1);
  assert.deepEqual(v1.received, [{ name: Cmd.RESP_MESSAGE_P2P, args: ["hi", "alice", v1.received[0]!.args[2]!] }]);
});
