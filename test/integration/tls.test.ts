/**
 * TLS on client listeners and internal links, with certificates made for the test (a CA, a
 * server certificate for 127.0.0.1, a client certificate for the links, and one from a rogue CA).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect as tlsConnect } from "node:tls";
import test from "node:test";
import { FishChatClient, requestMsgServer, type P2PMessage } from "../../shared/client/client.js";
import { Cmd } from "../../shared/protocol/commands.js";
import { testPki } from "../support/certs.js";
import { CORE_SECRET } from "../support/core.js";
import { SECRET, startCluster } from "../support/cluster.js";
import { waitFor } from "../support/ports.js";
import { RawPeer } from "../support/raw.js";

test("TLS: clients and internal links over TLS, mutual TLS for links, plaintext refused on TLS ports", { timeout: 120_000 }, async (t) => {
  const pki = testPki(t);
  const cl = await startCluster(t, { msgServers: 2, tls: pki });
  const ca = readFileSync(pki.ca.cert);
  const [a, b] = cl.msgServers;

  await t.test("a TLS client asks the gateway's TLS port, is sent to a TLS listener, and chats with a plaintext client on the other server", async () => {
    const addr = await requestMsgServer(`127.0.0.1:${cl.gatewayTlsPort}`, "line", 5000, { ca });
    assert.ok(cl.tlsPorts.some((p) => addr === `127.0.0.1:${p}`), `${addr} is a TLS listener`);
    const secure = new FishChatClient({ heartbeatMs: 0, tls: { ca } });
    t.after(() => secure.close());
    await secure.connect(`127.0.0.1:${cl.tlsPorts[0]}`);
    await secure.login("alice", await cl.token("alice"));
    const got: P2PMessage[] = [];
    const plain = await cl.client("bob", { via: b!.addr, setup: (c) => c.on("p2p", (m: P2PMessage) => got.push(m)) });
    // The router reached both servers over mutual TLS, so this crosses servers.
    await secure.sendP2P("bob", "over tls");
    await waitFor("bob got it", () => got.length === 1);
    const back: P2PMessage[] = [];
    secure.on("p2p", (m: P2PMessage) => back.push(m));
    await plain.sendP2P("alice", "and back");
    await waitFor("alice got it", () => back.length === 1);
    assert.equal(back[0]!.body, "and back");
  });

  await t.test("a plaintext client on a TLS port gets no session, and the server is unharmed", async () => {
    const p = await RawPeer.open(`127.0.0.1:${cl.tlsPorts[0]}`);
    p.write(`SEND_CLIENT_ID mallory ${await cl.token("mallory")}\n`);
    await p.waitClosed(15_000);
    assert.equal(p.received.length, 0, "nothing readable came back");
    const ok = new FishChatClient({ heartbeatMs: 0, tls: { ca } });
    t.after(() => ok.close());
    await ok.connect(`127.0.0.1:${cl.tlsPorts[0]}`);
    assert.equal((await ok.request({ name: Cmd.SEND_PING, args: ["PING"] })).name, Cmd.OK);
  });

  await t.test("a client that does not trust the server's certificate fails the handshake", async () => {
    const untrusting = new FishChatClient({ heartbeatMs: 0, tls: { ca: readFileSync(pki.rogueClient.cert) } });
    await assert.rejects(untrusting.connect(`127.0.0.1:${cl.tlsPorts[0]}`));
  });

  await t.test("internal AUTH needs TLS with a client certificate of the cluster's CA (internalAuth mtls)", async () => {
    const plain = await RawPeer.open(a!.addr);
    plain.write(`AUTH ${SECRET}\n`);
    assert.equal((await plain.next((c) => c.name === "ERR")).args[0], "IM_ERR_AUTH_FAILED");
    await plain.waitClosed();
    // TLS without a client certificate: still refused, before the secret is even looked at.
    const noCert = new FishChatClient({ heartbeatMs: 0, tls: { ca } });
    t.after(() => noCert.close());
    await noCert.connect(`127.0.0.1:${cl.tlsPorts[0]}`);
    await assert.rejects(noCert.request({ name: Cmd.AUTH, args: [SECRET] }), (e: Error & { code?: string }) => e.code === "IM_ERR_AUTH_FAILED");
    // A certificate from another CA: the handshake succeeds (optional client cert) but it is not authorized.
    const rogue = new FishChatClient({ heartbeatMs: 0, tls: { ca, cert: readFileSync(pki.rogueClient.cert), key: readFileSync(pki.rogueClient.key) } });
    t.after(() => rogue.close());
    try {
      await rogue.connect(`127.0.0.1:${cl.tlsPorts[0]}`);
      await assert.rejects(rogue.request({ name: Cmd.AUTH, args: [SECRET] }), (e: Error & { code?: string }) => e.code === "IM_ERR_AUTH_FAILED");
    } catch (err) {
      assert.match(String(err), /certificate|alert|socket/i, "or the server refused the rogue certificate outright");
    }
    const link = new FishChatClient({ heartbeatMs: 0, tls: { ca, cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) } });
    t.after(() => link.close());
    await link.connect(`127.0.0.1:${cl.tlsPorts[0]}`);
    assert.equal((await link.request({ name: Cmd.AUTH, args: [SECRET] })).name, Cmd.OK);
    assert.notEqual(SECRET, CORE_SECRET);
  });

  await t.test("the raw TLS handshake presents the server certificate for 127.0.0.1", async () => {
    const s = tlsConnect({ host: "127.0.0.1", port: cl.tlsPorts[1]!, ca });
    await new Promise<void>((resolve, reject) => {
      s.once("secureConnect", () => resolve());
      s.once("error", reject);
    });
    assert.equal(s.authorized, true);
    s.destroy();
  });
});

test("v1 packet clients keep working on the plaintext listener of a TLS cluster", { timeout: 60_000 }, async (t) => {
  const pki = testPki(t);
  const cl = await startCluster(t, { msgServers: 1, tls: pki, conf: { msg_server: { clientAuth: { mode: "none" } } } });
  const v1 = await RawPeer.open(cl.msgServers[0]!.addr);
  v1.packet("SEND_CLIENT_ID", ["gopher"]);
  await waitFor("gopher registered", async () => (await cl.redis.client().get("fc:sess:gopher")) !== null);
  const alice = await cl.client("alice", { token: null });
  await alice.sendP2P("gopher", "hi v1");
  const frame = await v1.next((c) => c.name === "RESP_MESSAGE_P2P");
  assert.deepEqual(frame.args.slice(0, 2), ["hi v1", "alice"]);
});
