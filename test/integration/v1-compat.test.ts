import test from "node:test";
import assert from "node:assert/strict";
import type { P2PMessage, TopicMessage } from "../../shared/client/client.js";
import { encodePacket } from "../../shared/protocol/packet-codec.js";
import { startCluster } from "../support/cluster.js";
import { RawPeer } from "../support/raw.js";
import { sleep, waitFor } from "../support/ports.js";

/**
 * A FishChatServer v1 client speaks the packet codec (4-byte length + JSON + "\n") and treats
 * every inbound frame as a message, so it must see exactly v1's frames: no OK, no ERR, and
 * RESP_MESSAGE_P2P / RESP_MESSAGE_TOPIC with v1's argument counts. These are the reference's
 * client_p2p and client_topic flows (reference §8), byte for byte where v1 defines the bytes.
 */
test("v1 packet-codec clients: gateway, p2p and topic flows", { timeout: 120_000 }, async (t) => {
  // FishChatServer v1 clients cannot send a token: the cluster runs as conf/v1-compat/ does (clientAuth mode "none").
  const cl = await startCluster(t, { msgServers: 2, conf: { msg_server: { clientAuth: { mode: "none" } } } });

  await t.test("gateway: REQ_MSG_SERVER -> SELECT_MSG_SERVER_FOR_CLIENT frame, then close", async () => {
    const gw = await RawPeer.open(cl.gateway!.addr);
    gw.write(Buffer.concat([Buffer.from([0, 0, 0, 0x27]), Buffer.from('{"CmdName":"REQ_MSG_SERVER","Args":[]}\n')]));
    await gw.waitClosed();
    assert.equal(gw.received.length, 1);
    const addr = gw.received[0]!.args[0]!;
    assert.ok(cl.msgServers.some((m) => m.addr === addr));
    assert.deepEqual(gw.bytes, encodePacket({ name: "SELECT_MSG_SERVER_FOR_CLIENT", args: [addr] }));
    assert.equal(gw.bytes.toString("utf8", 4), `{"CmdName":"SELECT_MSG_SERVER_FOR_CLIENT","Args":["${addr}"]}\n`);
  });

  await t.test("client_p2p flow: login, ping, receive with 3 args, ack, send", async () => {
    const [a, b] = cl.msgServers as [typeof cl.msgServers[0], typeof cl.msgServers[0]];
    const v1 = await RawPeer.open(a.addr);
    v1.packet("SEND_CLIENT_ID", ["alice"]);
    v1.packet("SEND_PING", ["PING"]);
    v1.packet("NO_SUCH_COMMAND", ["x"]);
    const bob = await cl.client("bob", { via: b.addr });
    const got: P2PMessage[] = [];
    bob.on("p2p", (m: P2PMessage) => got.push(m));
    await waitFor("alice registered", async () => (await cl.redis.client().get("fc:sess:alice")) !== null);
    const sent = await bob.sendP2P("alice", "hello <v1> & co");
    const frame = await v1.next((c) => c.name === "RESP_MESSAGE_P2P");
    assert.deepEqual(frame.args, ["hello <v1> & co", "bob", sent.uuid], "exactly v1's [msg, fromID, uuid]");
    // Go's encoder escapes < > & and so do we.
    assert.ok(v1.bytes.includes(Buffer.from("hello \\u003cv1\\u003e \\u0026 co")));
    v1.packet("P2P_ACK", ["alice", sent.uuid]);
    v1.packet("SEND_MESSAGE_P2P", ["bob", "hi bob", "alice"]);
    await waitFor("bob got alice's message", () => got.length === 1);
    assert.equal(got[0]!.body, "hi bob");
    assert.equal(got[0]!.from, "alice");
    await sleep(300);
    assert.deepEqual(v1.received.map((c) => c.name), ["RESP_MESSAGE_P2P"], "no OK/ERR frames, nothing else");
    assert.equal(v1.closed, false, "an unknown command is logged, not fatal");
    v1.close();
    bob.close();
  });

  await t.test("client_topic flow: create, join, send; members on both servers receive", async () => {
    const [a, b] = cl.msgServers as [typeof cl.msgServers[0], typeof cl.msgServers[0]];
    const v1 = await RawPeer.open(a.addr);
    v1.packet("SEND_CLIENT_ID", ["gopher"]);
    v1.packet("CREATE_TOPIC", ["golang"]);
    v1.packet("JOIN_TOPIC", ["golang", "gopher"]);
    const locate = await v1.next((c) => c.name === "LOCATE_TOPIC_MSG_ADDR");
    assert.deepEqual(locate.args, [a.addr, "golang"], "this server's address: a v1 client stays");
    const member = await cl.client("rustacean", { via: b.addr });
    await member.request({ name: "JOIN_TOPIC", args: ["golang", "rustacean"] });
    const got: TopicMessage[] = [];
    member.on("topic", (m: TopicMessage) => got.push(m));
    await sleep(200);
    v1.packet("SEND_MESSAGE_TOPIC", ["golang", "hi from v1"]);
    const echo = await v1.next((c) => c.name === "RESP_MESSAGE_TOPIC");
    assert.deepEqual(echo.args, ["golang", "hi from v1", "gopher"], "sender included, v1's 3 args");
    await waitFor("member on the other server got it", () => got.length === 1);
    assert.equal(got[0]!.from, "gopher");
    await member.sendTopic("golang", "reply from line client");
    const back = await v1.next((c) => c.name === "RESP_MESSAGE_TOPIC" && c.args[1] === "reply from line client");
    assert.deepEqual(back.args, ["golang", "reply from line client", "rustacean"]);
    v1.close();
    member.close();
  });
});
