/**
 * READ, CONVERSATIONS, TYPING, FILES_URL and the notices (READ_RECEIPT, PRESENCE, TOPIC_MEMBER,
 * TYPING) on in-process cores: a real MsgServer over memory transports, LMDB in a temp dir, the
 * memory Bus. Two cores sharing a bus and a store directory behave like two servers of a cluster.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "node:test";
import { memoryBus } from "../../../shared/bus/bus.js";
import { Cmd, type Command } from "../../../shared/protocol/commands.js";
import { p2pConversation } from "../../../shared/protocol/conversation.js";
import { encodePacket } from "../../../shared/protocol/packet-codec.js";
import { type CoreHarness, startCore, type TestPeer } from "../../support/core.js";

const codeOf = (c: Command) => (c.name === Cmd.ERR ? c.args[0] : c.name);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ok(p: TestPeer, line: string): Promise<Command> {
  const r = await p.request(line);
  assert.equal(r.name, Cmd.OK, `${line} -> ${r.args.join(" ")}`);
  return r;
}

async function bytes(s: string) {
  return (async function* () {
    yield Buffer.from(s);
  })();
}

async function topicWith(_h: CoreHarness, name: string, ...peers: [string, TestPeer][]): Promise<void> {
  const [first, ...rest] = peers;
  await ok(first![1], `CREATE_TOPIC ${name}`);
  for (const [id, p] of rest) assert.equal((await p.request(`JOIN_TOPIC ${name} ${id}`)).name, Cmd.LOCATE_TOPIC_MSG_ADDR);
}

test("READ p2p: moves forward only, clamped to the head; the peer alone gets READ_RECEIPT", async (t) => {
  const h = await startCore(t);
  const alice = await h.login("alice");
  const bob = await h.login("bob");
  const carol = await h.login("carol");
  for (const m of ["one", "two", "three"]) await ok(alice, `SEND_MESSAGE_P2P bob ${m}`);
  assert.deepEqual((await ok(bob, "READ p2p alice 2")).args, [Cmd.READ, "p2p", "alice", "2"]);
  await alice.until("receipt", () => alice.pushesNamed(Cmd.READ_RECEIPT).length === 1);
  assert.deepEqual(alice.pushesNamed(Cmd.READ_RECEIPT)[0]!.args, ["p2p", "bob", "2"]);
  assert.deepEqual((await ok(bob, "READ p2p alice 1")).args.at(-1), "2", "never moves back");
  assert.deepEqual((await ok(bob, "READ p2p alice 99")).args.at(-1), "3", "clamped to the head");
  await alice.until("second receipt", () => alice.pushesNamed(Cmd.READ_RECEIPT).length === 2);
  assert.deepEqual(alice.pushesNamed(Cmd.READ_RECEIPT)[1]!.args, ["p2p", "bob", "3"]);
  await ok(bob, "READ p2p alice 3");
  await sleep(30);
  assert.equal(alice.pushesNamed(Cmd.READ_RECEIPT).length, 2, "an unchanged position pushes nothing");
  assert.equal(carol.pushesNamed(Cmd.READ_RECEIPT).length, 0);
  assert.equal(bob.pushesNamed(Cmd.READ_RECEIPT).length, 0, "the reader gets no receipt of its own read");
  assert.equal((await h.store.readPositions("bob", [p2pConversation("alice", "bob")])).get(p2pConversation("alice", "bob")), 3);
});

test("READ: bad input, before login, and nobody reads someone else's conversation", async (t) => {
  const h = await startCore(t);
  const anon = h.connect();
  assert.equal(codeOf(await anon.request("READ p2p alice 1")), "IM_ERR_NOT_LOGGED_IN");
  const alice = await h.login("alice");
  const mallory = await h.login("mallory");
  await h.login("bob");
  await ok(alice, "SEND_MESSAGE_P2P bob secret");
  assert.equal(codeOf(await mallory.request("READ p2p alice")), "IM_ERR_BAD_ARGS");
  assert.equal(codeOf(await mallory.request("READ chat alice 1")), "IM_ERR_BAD_ARGS");
  assert.equal(codeOf(await mallory.request("READ p2p $system 1")), "IM_ERR_BAD_CLIENT_ID");
  assert.equal(codeOf(await mallory.request("READ p2p alice -1")), "IM_ERR_BAD_ARGS");
  assert.equal(codeOf(await mallory.request("READ p2p alice 1 2")), "IM_ERR_BAD_ARGS");
  // The only conversation mallory can name with alice is mallory's own, which is empty.
  assert.deepEqual((await ok(mallory, "READ p2p alice 1")).args, [Cmd.READ, "p2p", "alice", "0"]);
  const ab = p2pConversation("alice", "bob");
  assert.equal((await h.store.readPositions("bob", [ab])).get(ab), 0, "bob's position untouched");
  assert.equal(alice.pushesNamed(Cmd.READ_RECEIPT).length, 0);
});

test("READ topic: members only; no receipts fan out to members", async (t) => {
  const h = await startCore(t);
  const alice = await h.login("alice");
  const bob = await h.login("bob");
  const eve = await h.login("eve");
  await topicWith(h, "golang", ["alice", alice], ["bob", bob]);
  await ok(alice, "SEND_MESSAGE_TOPIC golang hello");
  assert.equal(codeOf(await eve.request("READ topic golang 1")), "IM_ERR_NOT_MEMBER");
  assert.equal(codeOf(await eve.request("READ topic nosuch 1")), "IM_ERR_NO_SUCH_TOPIC");
  assert.equal(codeOf(await eve.request("READ topic bad:name 1")), "IM_ERR_BAD_TOPIC_NAME");
  assert.deepEqual((await ok(bob, "READ topic golang 1")).args, [Cmd.READ, "topic", "golang", "1"]);
  await sleep(30);
  assert.equal(alice.pushesNamed(Cmd.READ_RECEIPT).length, 0);
});

test("CONVERSATIONS: last message, unread count, peer's read position, paging, bounds", async (t) => {
  const h = await startCore(t);
  const alice = await h.login("alice");
  const bob = await h.login("bob");
  await topicWith(h, "golang", ["bob", bob], ["alice", alice]);
  await ok(bob, "SEND_MESSAGE_TOPIC golang first");
  await sleep(5);
  for (const m of ["one", "two", "see you"]) await ok(alice, `SEND_MESSAGE_P2P bob ${JSON.stringify(m)}`);
  await ok(bob, "READ p2p alice 1");
  const before = bob.pushesNamed(Cmd.CONVERSATION).length;
  const r = await ok(bob, "CONVERSATIONS");
  const list = bob.pushesNamed(Cmd.CONVERSATION).slice(before);
  assert.equal(r.args[1], "2");
  assert.equal(list.length, 2);
  const [p2p, topic] = list;
  assert.deepEqual(p2p!.args.slice(0, 9), ["p2p", p2pConversation("alice", "bob"), "alice", "3", "1", "2", "3", "3", "alice"]);
  assert.equal(p2p!.args[10], "see you");
  assert.deepEqual(topic!.args.slice(0, 9), ["topic", "golang", "golang", "1", "1", "0", "-", "1", "bob"], "own message: nothing unread");
  // Paging: one per page, the OK names the cursor.
  const p1 = await ok(bob, "CONVERSATIONS 1");
  assert.equal(p1.args[1], "1");
  assert.equal(p1.args[3], p2pConversation("alice", "bob"));
  const n = bob.pushesNamed(Cmd.CONVERSATION).length;
  const p2 = await ok(bob, `CONVERSATIONS 1 ${p1.args[2]} ${JSON.stringify(p1.args[3])}`);
  assert.equal(p2.args[1], "1");
  assert.equal(bob.pushesNamed(Cmd.CONVERSATION)[n]!.args[1], "golang");
  const p3 = await ok(bob, `CONVERSATIONS 1 ${p2.args[2]} ${p2.args[3]}`);
  assert.deepEqual(p3.args, [Cmd.CONVERSATIONS, "0"], "past the end: empty page, no cursor");
  // Alice sees bob's read position as peerRead.
  await ok(alice, "CONVERSATIONS 1");
  assert.equal(alice.pushesNamed(Cmd.CONVERSATION).at(-1)!.args[6], "1");
  assert.equal(codeOf(await bob.request("CONVERSATIONS 201")), "IM_ERR_BAD_ARGS");
  assert.equal(codeOf(await bob.request("CONVERSATIONS 5 123")), "IM_ERR_BAD_ARGS");
  assert.equal(codeOf(await bob.request("CONVERSATIONS x")), "IM_ERR_BAD_ARGS");
  assert.equal(codeOf(await bob.request("CONVERSATIONS 5 x golang")), "IM_ERR_BAD_ARGS");
});

test("TYPING: to the peer or the other online members, never stored, rate limited", async (t) => {
  const h = await startCore(t, { conf: { typing: { perSec: 1, burst: 3 } } });
  const alice = await h.login("alice");
  const bob = await h.login("bob");
  const carol = await h.login("carol");
  const eve = await h.login("eve");
  await topicWith(h, "golang", ["alice", alice], ["bob", bob], ["carol", carol]);
  await ok(alice, "TYPING p2p bob");
  await bob.until("p2p typing", () => bob.pushesNamed(Cmd.TYPING).length === 1);
  assert.deepEqual(bob.pushesNamed(Cmd.TYPING)[0]!.args, ["p2p", "alice"]);
  await ok(alice, "TYPING topic golang");
  await carol.until("topic typing", () => carol.pushesNamed(Cmd.TYPING).length === 1);
  await bob.until("topic typing", () => bob.pushesNamed(Cmd.TYPING).length === 2);
  assert.deepEqual(carol.pushesNamed(Cmd.TYPING)[0]!.args, ["topic", "golang", "alice"]);
  assert.equal(alice.pushesNamed(Cmd.TYPING).length, 0, "not to the typist");
  assert.equal(eve.pushesNamed(Cmd.TYPING).length, 0);
  assert.equal(codeOf(await eve.request("TYPING topic golang")), "IM_ERR_NOT_MEMBER");
  assert.equal(codeOf(await eve.request("TYPING p2p")), "IM_ERR_BAD_ARGS");
  assert.equal(codeOf(await eve.request("TYPING room x")), "IM_ERR_BAD_ARGS");
  // Never stored: no message, no conversation entry, no history.
  assert.deepEqual(await h.store.history(p2pConversation("alice", "bob"), 0, 10), []);
  assert.deepEqual(await h.store.history("golang", 0, 10), []);
  assert.deepEqual((await h.store.conversations("bob", 10)).map((c) => c.conv), ["golang"]);
  // The burst was 3 (two used): the third passes, the fourth is refused with the wait.
  await ok(alice, "TYPING p2p bob");
  const refused = await alice.request("TYPING p2p bob");
  assert.equal(codeOf(refused), "IM_ERR_RATE_LIMITED");
  assert.ok(Number(refused.args[2]) > 0, "retry-after in ms");
  assert.equal(bob.pushesNamed(Cmd.TYPING).length, 3);
});

test("PRESENCE: online and offline to p2p peers and topic members only, never to v1 clients; a kick is not offline", async (t) => {
  const h = await startCore(t);
  const bob = await h.login("bob");
  const carol = await h.login("carol");
  const v1 = h.connect({ packet: true });
  v1.write(encodePacket({ name: Cmd.SEND_CLIENT_ID, args: ["vic", await h.token("vic")] }));
  await v1.until("vic logged in", () => h.core.sessions.get("vic") !== undefined);
  const stranger = await h.login("stranger");
  // alice talked with bob and vic, and shares a topic with carol.
  await h.store.appendP2P({ uuid: "u1", from: "bob", to: "alice", body: "hi", ts: Date.now() });
  await h.store.appendP2P({ uuid: "u2", from: "vic", to: "alice", body: "hi", ts: Date.now() });
  await h.store.createTopic("golang", "carol", Date.now());
  await h.store.addMember("golang", "alice");
  // carol is attached to the topic only after a new login
  carol.close();
  const carol2 = await h.login("carol");
  await carol2.until("carol's topics", () => h.core.sessions.get("carol")?.topics.has("golang") === true);
  const alice = await h.login("alice");
  await bob.until("bob: alice online", () => bob.pushesNamed(Cmd.PRESENCE).some((c) => c.args.join() === "alice,online"));
  await carol2.until("carol: alice online", () => carol2.pushesNamed(Cmd.PRESENCE).some((c) => c.args.join() === "alice,online"));
  await sleep(30);
  assert.equal(stranger.pushesNamed(Cmd.PRESENCE).filter((c) => c.args[0] === "alice").length, 0, "no conversation, no topic: nothing");
  assert.equal(v1.received.filter((c) => c.name === Cmd.PRESENCE).length, 0, "the packet dialect gets no presence");
  // A newer login of alice on this server kicks the old one: that is no offline.
  const alice2 = await h.login("alice");
  await alice.until("kicked", () => alice.closed);
  await sleep(50);
  assert.equal(bob.pushesNamed(Cmd.PRESENCE).filter((c) => c.args.join() === "alice,offline").length, 0);
  await ok(alice2, "LOGOUT");
  await bob.until("bob: alice offline", () => bob.pushesNamed(Cmd.PRESENCE).some((c) => c.args.join() === "alice,offline"));
  await carol2.until("carol: alice offline", () => carol2.pushesNamed(Cmd.PRESENCE).some((c) => c.args.join() === "alice,offline"));
});

test("PRESENCE: bounded by presence.maxFanout; presence.enabled false sends none", async (t) => {
  const h = await startCore(t, { conf: { presence: { maxFanout: 2 } } });
  const peers = ["p1", "p2", "p3", "p4"];
  const conns = [];
  for (const [i, p] of peers.entries()) {
    await h.store.appendP2P({ uuid: `u${i}`, from: p, to: "alice", body: "hi", ts: Date.now() + i });
    conns.push(await h.login(p));
  }
  await h.login("alice");
  await sleep(100);
  const told = conns.filter((c) => c.pushesNamed(Cmd.PRESENCE).some((x) => x.args[0] === "alice")).length;
  assert.equal(told, 2, "the two most recent conversations only");
  assert.ok(conns[3]!.pushesNamed(Cmd.PRESENCE).length === 1 && conns[2]!.pushesNamed(Cmd.PRESENCE).length === 1, "most recent first");

  const off = await startCore(t, { conf: { presence: { enabled: false } } });
  await off.store.appendP2P({ uuid: "x", from: "bob", to: "alice", body: "hi", ts: Date.now() });
  const bob = await off.login("bob");
  await off.login("alice");
  await sleep(100);
  assert.equal(bob.pushesNamed(Cmd.PRESENCE).length, 0);
});

test("TOPIC_MEMBER: join and leave reach the other online members", async (t) => {
  const h = await startCore(t);
  const alice = await h.login("alice");
  const bob = await h.login("bob");
  await ok(alice, "CREATE_TOPIC golang");
  await bob.request("JOIN_TOPIC golang bob");
  await alice.until("join", () => alice.pushesNamed(Cmd.TOPIC_MEMBER).length === 1);
  assert.deepEqual(alice.pushesNamed(Cmd.TOPIC_MEMBER)[0]!.args, ["golang", "bob", "join"]);
  await ok(bob, "QUIT_TOPIC golang");
  await alice.until("leave", () => alice.pushesNamed(Cmd.TOPIC_MEMBER).length === 2);
  assert.deepEqual(alice.pushesNamed(Cmd.TOPIC_MEMBER)[1]!.args, ["golang", "bob", "leave"]);
  assert.equal(bob.pushesNamed(Cmd.TOPIC_MEMBER).length, 0, "not to the one who joined or left");
});

test("TOPIC_MEMBER: a member removed by the owner is a leave for the others; the removed one gets TOPIC_REMOVED", async (t) => {
  const h = await startCore(t);
  const alice = await h.login("alice");
  const bob = await h.login("bob");
  const carol = await h.login("carol");
  await ok(alice, "CREATE_TOPIC golang");
  await bob.request("JOIN_TOPIC golang bob");
  await carol.request("JOIN_TOPIC golang carol");
  await ok(alice, "REMOVE_MEMBER golang bob");
  const leave = (p: { args: string[] }) => p.args[1] === "bob" && p.args[2] === "leave";
  await carol.until("bob's leave", () => carol.pushesNamed(Cmd.TOPIC_MEMBER).some(leave));
  await alice.until("bob's leave to the owner", () => alice.pushesNamed(Cmd.TOPIC_MEMBER).some(leave));
  await bob.until("removed", () => bob.pushesNamed(Cmd.TOPIC_REMOVED).length === 1);
  assert.equal(bob.pushesNamed(Cmd.TOPIC_MEMBER).filter(leave).length, 0, "not to the one removed");
});

test("notices cross servers: receipts and p2p presence by the directory, topic typing to every live server", async (t) => {
  const bus = memoryBus();
  const dataDir = mkdtempSync(join(tmpdir(), "fc-core-"));
  const a = await startCore(t, { bus, dataDir, serverId: "a:1" });
  const b = await startCore(t, { bus, dataDir, serverId: "b:1" });
  for (const id of ["a:1", "b:1"]) await bus.registry.announce({ role: "msg_server", id, addr: id, pid: 1, version: "t", startedAt: 0, ts: Date.now(), stats: {} }, 60_000);
  await a.store.appendP2P({ uuid: "u0", from: "bob", to: "alice", body: "hi", ts: Date.now() });
  const bob = await b.login("bob");
  const alice = await a.login("alice");
  await bob.until("presence across", () => bob.pushesNamed(Cmd.PRESENCE).some((c) => c.args.join() === "alice,online"));
  await ok(alice, "READ p2p bob 1");
  await bob.until("receipt across", () => bob.pushesNamed(Cmd.READ_RECEIPT).length === 1);
  assert.deepEqual(bob.pushesNamed(Cmd.READ_RECEIPT)[0]!.args, ["p2p", "alice", "1"]);
  await ok(alice, "CREATE_TOPIC golang");
  await bob.request("JOIN_TOPIC golang bob");
  await alice.until("join across", () => alice.pushesNamed(Cmd.TOPIC_MEMBER).length === 1);
  await ok(alice, "TYPING topic golang");
  await bob.until("typing across", () => bob.pushesNamed(Cmd.TYPING).length === 1);
  assert.deepEqual(bob.pushesNamed(Cmd.TYPING)[0]!.args, ["topic", "golang", "alice"]);
  await ok(bob, "TYPING p2p alice");
  await alice.until("p2p typing across", () => alice.pushesNamed(Cmd.TYPING).length === 1);
  assert.ok(a.core.notices.stats.relayed > 0 && b.core.notices.stats.relayed > 0);
});

test("attachment references: checked and rewritten on send, in order with other sends", async (t) => {
  const h = await startCore(t);
  const alice = await h.login("alice");
  const bob = await h.login("bob");
  const conv = p2pConversation("alice", "bob");
  const file = await h.store.putAttachment({ name: "a.txt", mime: "text/plain; charset=utf-8", owner: "alice", conv }, await bytes("hello"));
  const other = await h.store.putAttachment({ name: "b.txt", mime: "text/plain", owner: "alice", conv: p2pConversation("alice", "carol") }, await bytes("x"));
  const bobs = await h.store.putAttachment({ name: "c.txt", mime: "text/plain", owner: "bob", conv }, await bytes("y"));
  const ref = (id: string, extra = "") => JSON.stringify(`fc+file:{"type":"file","id":"${id}"${extra}}`);
  assert.equal(codeOf(await alice.request(`SEND_MESSAGE_P2P bob ${ref("nope")}`)), "IM_ERR_NO_SUCH_ATTACHMENT");
  assert.equal(codeOf(await alice.request(`SEND_MESSAGE_P2P bob ${ref(bobs.id)}`)), "IM_ERR_NO_SUCH_ATTACHMENT", "someone else's");
  assert.equal(codeOf(await alice.request(`SEND_MESSAGE_P2P bob ${ref(other.id)}`)), "IM_ERR_BAD_ATTACHMENT", "another conversation");
  assert.equal(codeOf(await alice.request(`SEND_MESSAGE_P2P bob "fc+file:not json"`)), "IM_ERR_BAD_ATTACHMENT");
  assert.equal(codeOf(await alice.request(`SEND_MESSAGE_P2P bob ${ref(file.id, ',"caption":5')}`)), "IM_ERR_BAD_ATTACHMENT");
  // A reference and the text right behind it keep their order.
  const both = await Promise.all([alice.request(`SEND_MESSAGE_P2P bob ${ref(file.id, ',"name":"lie.exe","size":1,"caption":"look"')}`), alice.request("SEND_MESSAGE_P2P bob after")]);
  assert.deepEqual(both.map(codeOf), [Cmd.OK, Cmd.OK]);
  await bob.until("two messages", () => bob.pushesNamed(Cmd.RESP_MESSAGE_P2P).length === 2);
  const [m1, m2] = bob.pushesNamed(Cmd.RESP_MESSAGE_P2P);
  assert.equal(m2!.args[0], "after");
  assert.ok(Number(m1!.args[3]) < Number(m2!.args[3]));
  assert.equal(m1!.args[0], `fc+file:{"type":"file","id":"${file.id}","name":"a.txt","mime":"text/plain; charset=utf-8","size":5,"thumbnailId":null,"caption":"look"}`);
  assert.equal((await h.store.history(conv, 0, 10)).length, 2, "the refused ones stored nothing");
  // Topics too.
  await ok(alice, "CREATE_TOPIC golang");
  const tf = await h.store.putAttachment({ name: "t.bin", mime: "application/octet-stream", owner: "alice", conv: "golang" }, await bytes("z"));
  assert.equal(codeOf(await alice.request(`SEND_MESSAGE_TOPIC golang ${ref(file.id)}`)), "IM_ERR_BAD_ATTACHMENT");
  await ok(alice, `SEND_MESSAGE_TOPIC golang ${ref(tf.id)}`);
  assert.match((await h.store.history("golang", 0, 1))[0]!.body, /"name":"t.bin"/);
});

test("FILES_URL: unavailable without the HTTP file endpoints", async (t) => {
  const h = await startCore(t);
  const alice = await h.login("alice");
  assert.equal(codeOf(await alice.request("FILES_URL")), "IM_ERR_UNAVAILABLE");
  h.core.filesUrl = "http://127.0.0.1:1/v1/files";
  assert.deepEqual((await ok(alice, "FILES_URL")).args, [Cmd.FILES_URL, "http://127.0.0.1:1/v1/files"]);
});
