/**
 * Topic authorization in the msg_server core: owners, private topics and invitations, removal
 * (across servers, through the control bus), admins, limits, and what the directory commands show.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "node:test";
import { memoryBus } from "../../../shared/bus/bus.js";
import { Cmd } from "../../../shared/protocol/commands.js";
import { startCore } from "../../support/core.js";

const codeOf = (c: { name: string; args: string[] }) => (c.name === Cmd.ERR ? c.args[0] : c.name);

test("private topics: only the invited join; the owner and admins invite; TOPIC_INFO for members", async (t) => {
  const h = await startCore(t);
  const alice = await h.login("alice");
  const bob = await h.login("bob");
  const carol = await h.login("carol");
  assert.equal(codeOf(await alice.request("CREATE_TOPIC club private")), Cmd.OK);
  assert.equal(codeOf(await alice.request("CREATE_TOPIC other sideways")), "IM_ERR_BAD_ARGS");
  assert.equal(codeOf(await bob.request("JOIN_TOPIC club bob")), "IM_ERR_NOT_INVITED");
  assert.equal(codeOf(await bob.request("INVITE_TOPIC club bob")), "IM_ERR_FORBIDDEN", "a non-member cannot invite itself");
  assert.equal(codeOf(await alice.request("INVITE_TOPIC club bob")), Cmd.OK);
  assert.equal((await bob.request("JOIN_TOPIC club bob")).name, Cmd.LOCATE_TOPIC_MSG_ADDR);
  assert.equal(codeOf(await bob.request("INVITE_TOPIC club carol")), "IM_ERR_FORBIDDEN", "a member is not an admin");
  assert.deepEqual((await alice.request("TOPIC_ADMIN club bob add")).args, [Cmd.TOPIC_ADMIN, "club", "bob"]);
  assert.equal(codeOf(await bob.request("TOPIC_ADMIN club carol add")), "IM_ERR_FORBIDDEN", "only the owner names admins");
  assert.equal(codeOf(await bob.request("INVITE_TOPIC club carol")), Cmd.OK, "an admin invites");
  assert.equal(codeOf(await carol.request("TOPIC_INFO club")), "IM_ERR_NOT_MEMBER", "invited is not yet a member");
  assert.equal((await carol.request("JOIN_TOPIC club carol")).name, Cmd.LOCATE_TOPIC_MSG_ADDR);
  assert.deepEqual((await carol.request("TOPIC_INFO club")).args, [Cmd.TOPIC_INFO, "club", "alice", "private", "3", "bob"]);
  // A private topic is listed only to its members.
  const eve = await h.login("eve");
  assert.deepEqual((await eve.request("LIST_TOPICS")).args, [Cmd.LIST_TOPICS]);
  assert.deepEqual((await carol.request("LIST_TOPICS")).args, [Cmd.LIST_TOPICS, "club"]);
  assert.equal(codeOf(await eve.request("TOPIC_MEMBERS club")), "IM_ERR_NOT_MEMBER");
  assert.equal(codeOf(await eve.request("HISTORY topic club")), "IM_ERR_NOT_MEMBER");
  assert.equal(codeOf(await eve.request("SEND_MESSAGE_TOPIC club hi")), "IM_ERR_NOT_MEMBER");
});

test("REMOVE_MEMBER stops delivery at once, also on another server; the owner cannot be removed", async (t) => {
  const bus = memoryBus();
  const dataDir = mkdtempSync(join(tmpdir(), "fc-core-"));
  const a = await startCore(t, { bus, dataDir, serverId: "a:1" });
  const b = await startCore(t, { bus, dataDir, serverId: "b:1" });
  const alice = await a.login("alice");
  const bob = await b.login("bob");
  await alice.request("CREATE_TOPIC room");
  await bob.request("JOIN_TOPIC room bob");
  assert.equal(codeOf(await bob.request("REMOVE_MEMBER room alice")), "IM_ERR_FORBIDDEN");
  assert.equal(codeOf(await alice.request("REMOVE_MEMBER room alice")), "IM_ERR_FORBIDDEN", "the owner cannot remove itself");
  assert.equal(codeOf(await alice.request("REMOVE_MEMBER room bob")), Cmd.OK);
  await bob.until("told", () => bob.pushesNamed(Cmd.TOPIC_REMOVED).length === 1);
  assert.deepEqual(bob.pushesNamed(Cmd.TOPIC_REMOVED)[0]!.args, ["room"]);
  assert.equal(b.core.sessions.get("bob")!.topics.has("room"), false, "bob's server stopped the stream");
  // Even if a post were routed to b, bob gets nothing: its stream is gone.
  b.core.topics.fanoutLocal({ uuid: "u", kind: "topic", conv: "room", seq: 99, from: "alice", to: "room", body: "late", ts: 1 });
  await alice.request("SEND_MESSAGE_TOPIC room after");
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(bob.pushesNamed(Cmd.RESP_MESSAGE_TOPIC).length, 0);
  assert.equal(codeOf(await alice.request("REMOVE_MEMBER room bob")), "IM_ERR_NOT_MEMBER");
  assert.equal(await a.store.isMember("room", "bob"), false);
});

test("the owner hands a topic over and changes its policy; others cannot", async (t) => {
  const h = await startCore(t);
  const alice = await h.login("alice");
  const bob = await h.login("bob");
  await alice.request("CREATE_TOPIC t1");
  assert.equal(codeOf(await alice.request("TOPIC_OWNER t1 bob")), "IM_ERR_NOT_MEMBER", "only to a member");
  await bob.request("JOIN_TOPIC t1 bob");
  assert.equal(codeOf(await bob.request("TOPIC_POLICY t1 private")), "IM_ERR_FORBIDDEN");
  assert.equal(codeOf(await alice.request("TOPIC_OWNER t1 bob")), Cmd.OK);
  assert.equal(codeOf(await alice.request("TOPIC_POLICY t1 private")), "IM_ERR_FORBIDDEN", "no longer the owner");
  assert.deepEqual((await bob.request("TOPIC_POLICY t1 private")).args, [Cmd.TOPIC_POLICY, "t1", "private"]);
  assert.equal((await h.store.getTopic("t1"))?.owner, "bob");
});

test("per-user topic count and per-topic member count are bounded, each with its own code", async (t) => {
  const h = await startCore(t, { conf: { maxTopicsPerUser: 2, maxMembersPerTopic: 2 } });
  const alice = await h.login("alice");
  assert.equal(codeOf(await alice.request("CREATE_TOPIC a1")), Cmd.OK);
  assert.equal(codeOf(await alice.request("CREATE_TOPIC a2")), Cmd.OK);
  assert.equal(codeOf(await alice.request("CREATE_TOPIC a3")), "IM_ERR_TOO_MANY_TOPICS");
  const bob = await h.login("bob");
  const carol = await h.login("carol");
  assert.equal((await bob.request("JOIN_TOPIC a1 bob")).name, Cmd.LOCATE_TOPIC_MSG_ADDR);
  assert.equal(codeOf(await carol.request("JOIN_TOPIC a1 carol")), "IM_ERR_TOPIC_FULL");
});

test("directoryVisibility: peers shows only users who share a topic; none refuses", async (t) => {
  const peers = await startCore(t, { conf: { directoryVisibility: "peers" } });
  const alice = await peers.login("alice");
  const bob = await peers.login("bob");
  await peers.login("stranger");
  await alice.request("CREATE_TOPIC shared");
  await bob.request("JOIN_TOPIC shared bob");
  assert.deepEqual((await alice.request("ONLINE_USERS")).args, [Cmd.ONLINE_USERS, "bob"]);
  assert.equal(codeOf(await (await peers.login("eve")).request("TOPIC_MEMBERS shared")), "IM_ERR_NOT_MEMBER");
  const none = await startCore(t, { conf: { directoryVisibility: "none" } });
  const x = await none.login("x");
  assert.equal(codeOf(await x.request("ONLINE_USERS")), "IM_ERR_FORBIDDEN");
  const all = await startCore(t);
  const y = await all.login("y");
  await all.login("z");
  assert.deepEqual((await y.request("ONLINE_USERS")).args, [Cmd.ONLINE_USERS, "y", "z"], "the default keeps v1's :olu");
});
