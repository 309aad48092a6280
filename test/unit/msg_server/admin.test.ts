/**
 * The server API's ADMIN_* commands in the msg_server core: internal links only, sends through
 * the client path (dedup by the sender's client message id), and members added on one server
 * receiving at once on the server that holds their session (MEMBER_ADDED on the control bus).
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "node:test";
import { memoryBus } from "../../../shared/bus/bus.js";
import { Cmd } from "../../../shared/protocol/commands.js";
import { CORE_SECRET, startCore } from "../../support/core.js";

const codeOf = (c: { name: string; args: string[] }) => (c.name === Cmd.ERR ? c.args[0] : c.name);
const ADMIN = Object.values(Cmd).filter((n) => n.startsWith("ADMIN_"));

test("ADMIN_* commands are refused to clients and to connections that did not AUTH", async (t) => {
  const h = await startCore(t);
  const alice = await h.login("alice");
  const anon = h.connect();
  assert.ok(ADMIN.length >= 10);
  for (const name of ADMIN) {
    assert.equal(codeOf(await alice.request(`${name} $system bob hi`)), "IM_ERR_FORBIDDEN", `${name} from a client`);
    assert.equal(codeOf(await anon.request(`${name} $system bob hi`)), "IM_ERR_FORBIDDEN", `${name} before AUTH`);
  }
  assert.equal(await h.store.history("p2p:$system bob", 0, 10).then((m) => m.length), 0, "nothing was stored");
});

test("ADMIN_SEND_P2P: as $system or a user, delivered, deduplicated by the sender's cmid like a client send", async (t) => {
  const h = await startCore(t);
  const bob = await h.login("bob");
  const api = h.connect();
  assert.equal(codeOf(await api.request(`AUTH ${CORE_SECRET}`)), Cmd.OK);
  const first = await api.request("ADMIN_SEND_P2P $system bob welcome w-1");
  assert.equal(first.args[0], Cmd.ADMIN_SEND_P2P);
  assert.equal(first.args[3], "0");
  await bob.until("the system message", () => bob.pushesNamed(Cmd.RESP_MESSAGE_P2P).length === 1);
  assert.equal(bob.pushesNamed(Cmd.RESP_MESSAGE_P2P)[0]!.args[1], "$system");
  const retry = await api.request("ADMIN_SEND_P2P $system bob welcome w-1");
  assert.deepEqual(retry.args, [Cmd.ADMIN_SEND_P2P, first.args[1], first.args[2], "1"]);
  const asAlice = await api.request("ADMIN_SEND_P2P alice bob hello a-1");
  const alice = await h.login("alice");
  const own = await alice.request("SEND_MESSAGE_P2P bob hello alice a-1");
  assert.equal(own.args[1], asAlice.args[1], "the client's retry of the same cmid is the API's message");
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(bob.pushesNamed(Cmd.RESP_MESSAGE_P2P).length, 2, "duplicates delivered nothing");
  assert.equal(codeOf(await api.request("ADMIN_SEND_P2P $other bob hi")), "IM_ERR_BAD_CLIENT_ID", "only $system may start with $");
  assert.equal(codeOf(await api.request("ADMIN_SEND_TOPIC alice nowhere hi")), "IM_ERR_NO_SUCH_TOPIC");
});

test("a member added by the API on one server receives at once on the server holding its session", async (t) => {
  const bus = memoryBus();
  const dataDir = mkdtempSync(join(tmpdir(), "fc-admin-"));
  const a = await startCore(t, { serverId: "127.0.0.1:19000", bus, dataDir });
  const b = await startCore(t, { serverId: "127.0.0.1:19001", bus, dataDir });
  const bob = await b.login("bob");
  const apiA = a.connect();
  const apiB = b.connect();
  await apiA.request(`AUTH ${CORE_SECRET}`);
  await apiB.request(`AUTH ${CORE_SECRET}`);
  assert.equal(codeOf(await apiA.request("ADMIN_TOPIC_CREATE news erin private")), Cmd.OK);
  assert.deepEqual((await apiA.request("ADMIN_TOPIC_MEMBER news bob add")).args, [Cmd.ADMIN_TOPIC_MEMBER, "news", "bob", "1"]);
  // Sent on bob's own server (no router here): it reaches him only if his session was attached by MEMBER_ADDED.
  assert.equal(codeOf(await apiB.request("ADMIN_SEND_TOPIC $system news edition-1")), Cmd.OK);
  await bob.until("the topic message", () => bob.pushesNamed(Cmd.RESP_MESSAGE_TOPIC).length === 1);
  assert.equal(codeOf(await apiA.request("ADMIN_SEND_TOPIC zed news hi")), "IM_ERR_NOT_MEMBER");
  const info = JSON.parse((await apiA.request("ADMIN_TOPIC_INFO news")).args[1]!) as { owner: string; memberCount: number };
  assert.deepEqual([info.owner, info.memberCount], ["erin", 2]);
  assert.deepEqual((await apiA.request("ADMIN_TOPIC_DELETE news")).args, [Cmd.ADMIN_TOPIC_DELETE, "news", "2"]);
  await bob.until("told the topic is gone", () => bob.pushesNamed(Cmd.TOPIC_REMOVED).length === 1);
});
