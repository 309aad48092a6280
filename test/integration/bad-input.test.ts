import test from "node:test";
import assert from "node:assert/strict";
import type { P2PMessage } from "../../shared/client/client.js";
import { startCluster } from "../support/cluster.js";
import { RawPeer } from "../support/raw.js";
import { sleep, waitFor } from "../support/ports.js";

/**
 * Bad input gets a clear, coded error and never harms another client: a pair of well-behaved
 * clients keeps exchanging messages on the same msg_server while every abuse below happens.
 */
test("bad input is answered with coded errors while other clients keep being served", { timeout: 120_000 }, async (t) => {
  const cl = await startCluster(t, { msgServers: 1, router: false, conf: { msg_server: { loginTimeoutMs: 1500 } } });
  const ms = cl.msgServers[0]!;
  const alice = await cl.client("alice", { via: ms.addr });
  const bob = await cl.client("bob", { via: ms.addr });
  const got: P2PMessage[] = [];
  bob.on("p2p", (m: P2PMessage) => got.push(m));
  let sent = 0;
  let stop = false;
  const traffic = (async () => {
    while (!stop) {
      await alice.sendP2P("bob", `steady ${sent++}`);
      await sleep(20);
    }
  })();

  await t.test("unknown command", async () => {
    const p = await RawPeer.open(ms.addr);
    p.write("FLY_ME_TO_THE_MOON now\n");
    const r = await p.next((c) => c.name === "ERR");
    assert.equal(r.args[0], "IM_ERR_UNKNOWN_COMMAND");
    p.close();
  });

  await t.test("missing arguments, before and after login", async () => {
    const p = await RawPeer.open(ms.addr);
    p.write("SEND_MESSAGE_P2P bob\n");
    assert.equal((await p.next((c) => c.name === "ERR")).args[0], "IM_ERR_NOT_LOGGED_IN");
    p.write("SEND_CLIENT_ID\n");
    assert.equal((await p.next((c) => c.name === "ERR", 5000, 1)).args[0], "IM_ERR_BAD_ARGS");
    p.write(`SEND_CLIENT_ID mallory ${await cl.token("mallory")}\nSEND_MESSAGE_P2P bob\n`);
    await p.next((c) => c.name === "OK" && c.args[0] === "SEND_CLIENT_ID");
    const err = await p.next((c) => c.name === "ERR", 5000, 3);
    assert.equal(err.args[0], "IM_ERR_BAD_ARGS");
    assert.match(err.args[1]!, /usage: SEND_MESSAGE_P2P/);
    p.write('SEND_MESSAGE_P2P bob "spoofed" alice\n');
    assert.equal((await p.next((c) => c.name === "ERR", 5000, 4)).args[0], "IM_ERR_FROM_MISMATCH");
    p.write('SEND_MESSAGE_P2P "bad id" hi\n');
    assert.equal((await p.next((c) => c.name === "ERR", 5000, 5)).args[0], "IM_ERR_BAD_CLIENT_ID");
    p.write('SEND_MESSAGE_P2P bob "unterminated\n');
    assert.equal((await p.next((c) => c.name === "ERR", 5000, 6)).args[0], "IM_ERR_BAD_LINE");
    assert.equal(p.closed, false, "a bad line costs only that line");
    p.close();
  });

  await t.test("internal commands are refused to clients, and they learn nothing", async () => {
    const p = await RawPeer.open(ms.addr);
    p.write("SUBSCRIBE_CHANNEL /sysctrl/send snoop\nROUTE_MESSAGE_P2P bob x eve u1 1 1 1\nSTATS\n");
    await waitFor("three replies", () => p.received.length >= 3);
    assert.deepEqual(p.received.map((c) => c.args[0]), ["IM_ERR_FORBIDDEN", "IM_ERR_FORBIDDEN", "IM_ERR_FORBIDDEN"]);
    p.write("AUTH wrong-secret\n");
    assert.equal((await p.next((c) => c.name === "ERR", 5000, 3)).args[0], "IM_ERR_AUTH_FAILED");
    await p.waitClosed();
  });

  await t.test("garbage bytes: invalid UTF-8 closes only that connection", async () => {
    const p = await RawPeer.open(ms.addr);
    p.write(Buffer.from([0x41, 0x42, 0xff, 0xfe, 0x0a]));
    assert.equal((await p.next((c) => c.name === "ERR")).args[0], "IM_ERR_BAD_LINE");
    await p.waitClosed();
  });

  await t.test("garbage bytes in packet mode: an absurd frame length closes the connection", async () => {
    const p = await RawPeer.open(ms.addr);
    p.write(Buffer.from([0x00, 0xff, 0xff, 0xff, 0x01, 0x02]));
    await p.waitClosed();
    assert.equal(p.received.length, 0, "packet clients see no non-v1 frames");
  });

  await t.test("a 1 MiB line gets IM_ERR_LINE_TOO_LONG and the connection is closed", async () => {
    const p = await RawPeer.open(ms.addr);
    p.write(`SEND_CLIENT_ID ${"x".repeat(1024 * 1024)}\n`);
    assert.equal((await p.next((c) => c.name === "ERR")).args[0], "IM_ERR_LINE_TOO_LONG");
    await p.waitClosed();
  });

  await t.test("a client that connects and says nothing is closed after the login timeout", async () => {
    const opened = Date.now();
    const p = await RawPeer.open(ms.addr);
    await p.waitClosed(6000);
    const took = Date.now() - opened;
    // loginTimeoutMs is 1500 here; the idle sweep runs every second.
    assert.ok(took >= 1400 && took < 4000, `closed after ${took} ms`);
    assert.deepEqual(p.received.map((c) => [c.name, c.args[0]]), [["ERR", "IM_ERR_IDLE_TIMEOUT"]], "told why, in line mode");
  });

  stop = true;
  await traffic;
  await waitFor("steady traffic delivered", () => got.length === sent, 5000);
  assert.ok(sent > 20, `steady traffic kept flowing (${sent} messages)`);
  assert.deepEqual(got.map((m) => m.body), Array.from({ length: sent }, (_, i) => `steady ${i}`));
});
